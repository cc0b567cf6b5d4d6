"""A local stand-in for Slack: its Web API, and the signed requests Slack sends.

:class:`SlackStandIn` runs a small threaded HTTP server on 127.0.0.1 that

- answers the Slack Web API methods Postroom calls (``chat.postMessage``,
  ``views.open``, ``conversations.history``...) over an in-memory workspace, with
  Slack's rules and error codes (membership, archived channels, trigger ids that die
  after 3 seconds, view hashes, Block Kit limits...);
- accepts ``response_url`` posts and file uploads;
- *sends* what Slack sends to an app, signed with the app's signing secret: slash
  commands, ``block_actions``, ``view_submission``/``view_closed`` and Events API
  callbacks, then applies the app's answer (an ephemeral reply to a command, a
  ``response_action`` to a modal) as Slack does.

Tests drive the real Bolt app through it; the browser playground builds on it::

    with SlackStandIn(signing_secret="secret", bot_token="xoxb-test") as slack:
        slack.add_user("U1", "maria", tz="Europe/Madrid")
        slack.add_channel("C1", "social-approvals", members=["U1"])
        slack.request_url = "http://127.0.0.1:3000/slack/events"
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        delivery = slack.command("U1", "draft Hello")
        slack.wait_for(lambda: slack.views("U1"))

Run it on its own with ``python -m playground.standin --port 3001 ...`` (see
:func:`main`).
"""

from __future__ import annotations

import argparse
import copy
import inspect
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.clock import SystemClock
from playground.payloads import (
    app_home_opened_event,
    app_rate_limited_payload,
    app_uninstalled_event,
    block_suggestion_payload,
    command_payload,
    event_envelope,
    message_actions_payload,
    reaction_added_event,
    tokens_revoked_event,
    view_actions_payload,
    view_closed_payload,
    view_submission_payload,
)
from playground.sender import Delivery, Sender, form_body, interactive_body, json_body
from playground.server import StandInServer
from playground.validate import message_problems, options_problems, view_problems
from playground.viewstate import (
    UNSET,
    InputRefused,
    action_entry,
    elements,
    find_element,
    is_stateful,
    state_values,
)
from playground.webapi import REQUIRED_PARAMS, ApiCall, ResponsePost, WebApi
from playground.workspace import ApiError, Workspace

__all__ = [
    "REQUIRED_PARAMS",
    "ApiCall",
    "Delivery",
    "InputRefused",
    "ResponsePost",
    "SlackStandIn",
    "main",
]

T = TypeVar("T")

log = logging.getLogger("playground.standin")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# ``wait_for`` looks again at least this often (seconds), whatever the stand-in saw.
RECHECK_SECONDS = 0.05


class SlackStandIn:
    """Slack, on localhost, for one workspace with one installed app.

    ``clock`` (an object with ``now()`` returning an aware UTC datetime, such as
    ``bot.clock.ManualClock``) drives message timestamps and ``event_time``; request
    signatures and trigger-id expiry use real time, as the app and Slack do.
    :meth:`advance_clock` moves it forward and tells the ``clock_listeners``.

    ``ui=True`` also serves the playground's web page at ``/`` (see
    :mod:`playground.ui`; :attr:`ui` is the page's object).
    """

    def __init__(
        self,
        signing_secret: str = "secret",
        bot_token: str = "xoxb-test",
        team_id: str = "T0001",
        team_name: str = "Acme Social",
        clock: Any = None,
        *,
        bot_user_id: str = "UBOT0001",
        bot_id: str = "BBOT0001",
        app_id: str = "A0POSTROOM",
        bot_name: str = "postroom",
        verification_token: str = "standin-verification-token",
        host: str = "127.0.0.1",
        port: int = 0,
        delivery_timeout: float = 10.0,
        ui: bool = False,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.verification_token = verification_token
        self.clock = clock or SystemClock()
        self.workspace = Workspace(
            team_id=team_id,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_name=bot_name,
            clock=self.clock,
        )
        self.api = WebApi(self.workspace, bot_token=bot_token)
        self.sender = Sender(signing_secret, timeout=delivery_timeout)
        self.request_url: str | None = None
        self._deliveries: list[Delivery] = []
        self._address = (host, port)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None
        # Called with the new now after every advance_clock (the playground's launcher
        # registers the app scheduler's tick, so due work happens right after a jump).
        self.clock_listeners: list[Callable[[datetime], Any]] = []
        # A jump longer than this passes in steps of it (at most MAX_CLOCK_STEPS), the
        # listeners told after each, so what falls due along the way happens in order.
        self.clock_step: timedelta | None = None
        self._listening = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standin-clock")
        self._busy = 0
        self.ui = None
        if ui:
            from playground.ui import PlaygroundUI

            self.ui = PlaygroundUI(self)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> SlackStandIn:
        """Start serving in a background thread (port 0: a free port)."""
        if self._server is not None:
            raise RuntimeError("the stand-in is already running")
        if self.ui is not None:
            self.ui.open()
        self._server = StandInServer(self._address, self.api, ui=self.ui)
        host, port = self._server.server_address[:2]
        self.workspace.base_url = f"http://{host}:{port}"
        if self.ui is not None:
            # the page is the workspace: its permalinks open the page on that message
            self.workspace.permalink_base = self.workspace.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-standin-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        if self.ui is not None:
            self.ui.close()
        # let a jump's listeners finish while the Web API still answers them
        self._listening.shutdown(wait=True)
        self._listening = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standin-clock")
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    # ----------------------------------------------------------------- clock

    MAX_CLOCK_STEPS = 400

    def advance_clock(self, delta: timedelta, *, wait: bool = True) -> datetime:
        """Move time forward by ``delta`` (when the clock can be moved: ``ManualClock``,
        ``PlaygroundClock``), count a change, then call each of :attr:`clock_listeners`
        with the new now. With :attr:`clock_step` set, a longer jump passes in steps (the
        listeners are told after each one: a day's jump sends that morning's digest on
        time). ``wait=False`` returns at once and moves on a background thread, one jump
        after the other (the page does this: a tick that posts a digest may take a
        while). Returns the time the jump ends at."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        steps = self._steps(delta)
        with self.workspace.lock:
            self._busy += 1
            self.workspace.changed()
        target = self.clock.now() + delta
        if len(steps) == 1:  # one jump: the clock is there when this returns
            steps = [self._jump(delta)]
        if wait:
            self._move(steps)
        else:
            self._listening.submit(self._move, steps)
        return target

    def _jump(self, step: timedelta) -> datetime:
        advance = getattr(self.clock, "advance", None)
        now = advance(step) if callable(advance) else self.clock.now()
        with self.workspace.lock:
            self.workspace.changed()
        return now

    def _steps(self, delta: timedelta) -> list[timedelta]:
        step = self.clock_step
        if not step or delta <= step:
            return [delta]
        step = max(step, delta / self.MAX_CLOCK_STEPS)
        steps = []
        left = delta
        while left > step:
            steps.append(step)
            left -= step
        return [*steps, left]

    @property
    def clock_busy(self) -> bool:
        """True while a jump is still moving the clock or telling its listeners."""
        with self.workspace.lock:
            return self._busy > 0

    def _move(self, steps: list[timedelta | datetime]) -> None:
        """Take each step (a time already reached: just tell the listeners)."""
        try:
            for step in steps:
                now = step if isinstance(step, datetime) else self._jump(step)
                for listener in list(self.clock_listeners):
                    try:
                        listener(now)
                    except Exception:
                        log.exception("a clock listener failed after the clock moved to %s", now)
        finally:
            with self.workspace.lock:
                self._busy -= 1
                self.workspace.changed()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (once started)."""
        if not self.workspace.base_url:
            raise RuntimeError("start() the stand-in first")
        return self.workspace.base_url

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    @property
    def app_id(self) -> str:
        return self.workspace.app_id

    @property
    def scopes(self) -> list[str]:
        """The bot's scopes (``x-oauth-scopes``). With ``chat:write.public`` the bot
        may post to public channels it has not joined, as in Slack."""
        return self.api.scopes

    @scopes.setter
    def scopes(self, scopes: list[str]) -> None:
        with self.workspace.lock:
            self.api.scopes = list(scopes)

    # ------------------------------------------------------------- workspace

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
        **profile: Any,
    ) -> dict:
        """Add a member (``display_name``, ``email``, ``title``, ``is_bot``, ``deleted``
        also accepted); returns the user as ``users.info`` shows it."""
        with self.workspace.lock:
            user = self.workspace.add_user(
                user_id,
                name,
                real_name=real_name,
                tz=tz,
                is_admin=is_admin,
                is_owner=is_owner,
                **profile,
            )
            self.workspace.changed()
            return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
        **extra: Any,
    ) -> dict:
        """Add a channel (``topic`` and ``purpose`` also accepted); returns it with
        its ``members``."""
        with self.workspace.lock:
            channel = self.workspace.add_channel(
                channel_id,
                name,
                is_private=is_private,
                is_archived=is_archived,
                members=members,
                bot_member=bot_member,
                **extra,
            )
            self.workspace.changed()
            return channel

    def add_group_dm(self, channel_id: str, members: list[str], *, bot_member: bool = True) -> dict:
        """Add a group DM (``is_mpim``) between ``members`` and the bot; returns it."""
        with self.workspace.lock:
            for user_id in members:
                self.workspace.require_user(user_id)
            channel = self.workspace.add_group_dm(channel_id, members, bot_member=bot_member)
            self.workspace.changed()
            return channel

    def add_member(self, channel_id: str, user_id: str) -> None:
        """A person (or the bot) joins a channel."""
        with self.workspace.lock:
            members = self.workspace.channels[channel_id]["members"]
            if user_id not in members:
                members.append(user_id)
            self.workspace.changed()

    def remove_member(self, channel_id: str, user_id: str) -> None:
        """A person (or the bot) leaves a channel."""
        with self.workspace.lock:
            members = self.workspace.channels[channel_id]["members"]
            if user_id in members:
                members.remove(user_id)
            self.workspace.changed()

    def archive(self, channel_id: str, archived: bool = True) -> None:
        """Archive (or unarchive) a channel."""
        with self.workspace.lock:
            self.workspace.channels[channel_id]["is_archived"] = archived
            self.workspace.changed()

    def channel(self, channel_id: str) -> dict:
        """The stored conversation, ``members`` included."""
        with self.workspace.lock:
            return self.workspace.channel_snapshot(channel_id)

    def user(self, user_id: str) -> dict:
        """The user as ``users.info`` shows it."""
        with self.workspace.lock:
            self.workspace.require_user(user_id)
            return self.workspace.render_user(user_id)

    def dm_id(self, user_id: str) -> str:
        """The id of the bot's DM with a user (opened if needed)."""
        with self.workspace.lock:
            self.workspace.require_user(user_id)
            return self.workspace.open_dm(user_id)["id"]

    def messages(self, channel_id: str) -> list[dict]:
        """Top-level messages of a conversation, oldest first (with ``reply_count``)."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.top_level(channel_id))

    def replies(self, channel_id: str, ts: str) -> list[dict]:
        """A thread, parent first."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.thread(channel_id, ts))

    def message(self, channel_id: str, ts: str) -> dict | None:
        """One stored message (top level or reply), or ``None``."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.find_message(channel_id, ts))

    def dm_messages(self, user_id: str) -> list[dict]:
        """Messages in the bot's DM with a user, oldest first."""
        with self.workspace.lock:
            channel_id = self.workspace.dms.get(user_id)
            return copy.deepcopy(self.workspace.top_level(channel_id)) if channel_id else []

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[dict]:
        """Every ephemeral message shown, oldest first; ``source`` tells how it came:
        ``chat.postEphemeral``, ``response_url`` or ``command_ack``."""
        with self.workspace.lock:
            return [
                copy.deepcopy(e)
                for e in self.workspace.ephemerals
                if user in (None, e["user"]) and channel in (None, e["channel"])
            ]

    def views(self, user: str) -> list[dict]:
        """The user's modal stack, top last."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.modal_stack(user))

    def view(self, view_id: str) -> dict | None:
        """An open view (modal or Home tab) by id, or ``None``."""
        with self.workspace.lock:
            record = self.workspace.views.get(view_id)
            return copy.deepcopy(record["view"]) if record else None

    def view_errors(self, view_id: str) -> dict | None:
        """The ``errors`` of the last ``response_action: errors`` for a view."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.view_errors.get(view_id))

    def home(self, user: str) -> dict | None:
        """The user's published Home tab view, or ``None``."""
        with self.workspace.lock:
            view_id = self.workspace.homes.get(user)
            return copy.deepcopy(self.workspace.views[view_id]["view"]) if view_id else None

    def file(self, file_id: str) -> dict | None:
        """An uploaded file: its Slack ``file`` object plus ``content`` (bytes)."""
        with self.workspace.lock:
            stored = self.workspace.files.get(file_id)
            if stored is None:
                return None
            return {**copy.deepcopy(stored.info), "content": stored.content, "id": stored.id}

    # ----------------------------------------------------------------- calls

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API call, oldest first."""
        with self.workspace.lock:
            return list(self.api.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The Web API calls of one method, oldest first."""
        with self.workspace.lock:
            return [c for c in self.api.calls if c.method == method]

    @property
    def responses(self) -> list[ResponsePost]:
        """Every ``response_url`` post, oldest first."""
        with self.workspace.lock:
            return list(self.api.responses)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every request sent to the app, oldest first."""
        with self.workspace.lock:
            return list(self._deliveries)

    def fail(self, method: str, error: str, times: int = 1, **match: Any) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error``; keyword
        arguments (e.g. ``channel="C1"``) restrict it to calls with those params.
        ``method="response_url"``: the next posts to a response_url are refused (HTTP 400)."""
        self.api.fail(method, error, times=times, **match)

    def ratelimit(self, method: str, retry_after: int = 1, times: int = 1, **match: Any) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429, a
        ``Retry-After`` header and ``{"ok": false, "error": "ratelimited"}``."""
        self.api.fail(
            method,
            "ratelimited",
            times=times,
            status=429,
            headers={"Retry-After": str(retry_after)},
            **match,
        )

    def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0) -> T:
        """Block until ``predicate()`` is truthy and return its value.

        The predicate is evaluated again after every Web API call, response_url post,
        delivery and state change, without holding the stand-in's lock, and at least every
        ``RECHECK_SECONDS`` for what the stand-in doesn't see change (the app's database,
        its log: otherwise a predicate on those waits out the timeout for its last look).
        It may call the Web API itself, but each such call is a change that runs it
        again: prefer the stand-in's accessors (``messages``, ``calls_to``...). A
        predicate raising ``LookupError``
        (``IndexError``, ``KeyError``: "not there yet") counts as false. Raises
        ``AssertionError`` describing the recent traffic on timeout.
        """
        ws = self.workspace
        deadline = time.monotonic() + timeout
        problem: LookupError | None = None
        while True:
            with ws.condition:
                seen = ws.version
            try:
                value = predicate()
            except LookupError as exc:
                value, problem = None, exc
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(predicate, timeout, problem))
            with ws.condition:
                remaining = deadline - time.monotonic()  # past it: one last look, then give up
                if ws.version == seen and remaining > 0:
                    ws.condition.wait(min(remaining, RECHECK_SECONDS))

    def _timeout_report(
        self, predicate: Callable[[], Any], timeout: float, problem: Exception | None
    ) -> str:
        try:
            source = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            source = repr(predicate)
        lines = [f"wait_for timed out after {timeout:g}s; still false: {source}"]
        if problem is not None:
            lines.append(f"  (last raised {type(problem).__name__}: {problem})")
        recent_calls = self.api.calls[-8:]
        lines.append(f"last {len(recent_calls)} of {len(self.api.calls)} Web API calls:")
        lines += [
            f"  {c.method} {'ok' if c.ok else c.error} {_short(c.params)}" for c in recent_calls
        ] or ["  (none)"]
        for response in self.api.responses[-3:]:
            state = "ok" if response.ok else response.error
            lines.append(f"  response_url {state} {_short(response.body)}")
        for delivery in self._deliveries[-3:]:
            lines.append(
                f"  delivery -> {delivery.status} {delivery.error or ''} {_short(delivery.body)}"
            )
        return "\n".join(lines)

    # -------------------------------------------------------------- sending

    def _deliver(
        self,
        body: bytes,
        content_type: str,
        payload: Any,
        *,
        trigger_id: str | None = None,
        response_url: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        delivery = self.sender.post(
            self.request_url, body, content_type, extra_headers=extra_headers
        )
        delivery.payload = payload
        delivery.trigger_id = trigger_id
        delivery.response_url = response_url
        return delivery

    def _record(self, delivery: Delivery) -> Delivery:
        with self.workspace.lock:
            self._deliveries.append(delivery)
            self.workspace.changed()
        return delivery

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """POST raw bytes to the request URL, signed (or with the given signature or
        timestamp, to test the app's verification)."""
        delivery = self.sender.post(
            self.request_url,
            body,
            content_type,
            timestamp=timestamp,
            signature_value=signature,
            extra_headers=headers,
        )
        return self._record(delivery)

    def command(
        self,
        user_id: str,
        text: str,
        command: str = "/post",
        channel_id: str | None = None,
        *,
        typed: bool = False,
    ) -> Delivery:
        """A person runs a slash command. The channel defaults to the first channel the
        person is in, else their DM with the app. ``typed``: the text is what the person
        typed (``@maria``, ``#support``), escaped here as Slack escapes it for a command
        with ``should_escape``; otherwise it is sent as given. A non-empty answer is
        shown as Slack does: text or ``response_type: ephemeral`` as an ephemeral
        (``command_ack``), ``in_channel`` as a message from the app."""
        ws = self.workspace
        with ws.lock:
            ws.require_user(user_id)
            if typed:
                text = ws.escape_typed(text)
            channel = self._command_channel(user_id, channel_id)
            trigger_id = ws.issue_trigger(user_id)
            response_url = ws.issue_response_url(user_id, channel["id"])
            payload = command_payload(
                ws,
                user_id=user_id,
                channel=channel,
                command=command,
                text=text,
                response_url=response_url,
                trigger_id=trigger_id,
                verification_token=self.verification_token,
            )
        delivery = self._deliver(
            form_body(payload), FORM, payload, trigger_id=trigger_id, response_url=response_url
        )
        with ws.lock:
            self._apply_command_answer(delivery, user_id, channel["id"])
        return self._record(delivery)

    def _command_channel(self, user_id: str, channel_id: str | None) -> dict:
        ws = self.workspace
        if channel_id is not None:
            channel = ws.find_conversation(channel_id, users_to_dm=True)
            if channel is None:
                raise LookupError(f"no conversation {channel_id!r}")
            return channel
        for channel in ws.channels.values():
            if not channel["is_im"] and user_id in channel["members"]:
                return channel
        return ws.open_dm(user_id)

    def _apply_command_answer(self, delivery: Delivery, user_id: str, channel_id: str) -> None:
        answer = delivery.body
        if delivery.error or answer in (None, "", {}):
            return
        if isinstance(answer, str):
            answer = {"text": answer}
        if not isinstance(answer, dict):
            delivery.error = "invalid_response: the answer must be text or a JSON object"
            return
        problems = message_problems(answer.get("blocks"))
        if problems:
            delivery.error = "invalid_blocks: " + "; ".join(problems)
            return
        content = {
            "text": str(answer.get("text") or ""),
            "blocks": answer.get("blocks"),
            "attachments": answer.get("attachments"),
        }
        if answer.get("response_type") == "in_channel":
            self.workspace.post_message(channel_id, **content)
        else:
            self.workspace.add_ephemeral(channel_id, user_id, **content, source="command_ack")
        self.workspace.changed()

    def action(
        self,
        user_id: str,
        action_id: str,
        *,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        value: Any = None,
        block_id: str | None = None,
        selected_user: str | None = None,
        selected_option: Any = None,
        revision: int | None = None,
    ) -> Delivery:
        """A person clicks a button (or picks from a menu...) and Slack sends
        ``block_actions``.

        The element is looked up by ``action_id`` (and ``block_id``) in the view
        ``view_id``, or the message ``message_ts`` (an ephemeral one too). With
        neither, in this order: the person's open modal (a modal is in front of
        everything else), then the newest message or ephemeral shown to them (in
        ``channel_id`` if given), then their Home tab. ``value``, ``selected_option``
        or ``selected_user`` say what was chosen (a button's own value by default).

        ``revision`` (with ``message_ts``): the version of the message the person's
        screen showed (``Workspace.revision``), when the app has updated it since. The
        Slack client sends the click from the message as the person saw it — a button
        another person's click already took away included — and the app answers it;
        so does the stand-in: the element, the ``message`` and the ``state`` come from
        that version.
        """
        ws = self.workspace
        simple = next((v for v in (selected_option, selected_user, value) if v is not None), UNSET)
        with ws.lock:
            ws.require_user(user_id)
            source = self._action_source(
                user_id, action_id, block_id, channel_id, message_ts, view_id, revision
            )
            block, element = find_element(source["blocks"], action_id, block_id) or (None, None)
            if element is None:
                raise LookupError(self._no_element(action_id, block_id, source["blocks"]))
            entry = action_entry(block, element, simple, ws.ts.next())
            chosen = {block["block_id"]: {action_id: simple}} if is_stateful(element) else {}
            trigger_id = ws.issue_trigger(user_id)
            if "view" in source:
                payload = self._view_action(user_id, source["view"], entry, chosen, trigger_id)
                response_url = None
            else:
                payload, response_url = self._message_action(
                    user_id, source, entry, chosen, trigger_id
                )
        delivery = self._deliver(
            interactive_body(payload),
            FORM,
            payload,
            trigger_id=trigger_id,
            response_url=response_url,
        )
        return self._record(delivery)

    def _view_action(
        self, user_id: str, view: dict, entry: dict, chosen: dict, trigger_id: str
    ) -> dict:
        base = view.get("state", {}).get("values", {})
        view["state"] = state_values(view["blocks"], chosen, base=base)
        record = self.workspace.views.get(view["id"])
        if record is not None:  # the choice stays in the view, as in the Slack client
            record["view"]["state"] = copy.deepcopy(view["state"])
        return view_actions_payload(
            self.workspace,
            user_id=user_id,
            view=view,
            actions=[entry],
            trigger_id=trigger_id,
            verification_token=self.verification_token,
        )

    def _message_action(
        self, user_id: str, source: dict, entry: dict, chosen: dict, trigger_id: str
    ) -> tuple[dict, str]:
        ws = self.workspace
        message, channel = source["message"], source["channel"]
        response_url = ws.issue_response_url(
            user_id,
            channel["id"],
            message_ts=message["ts"],
            is_ephemeral=source["is_ephemeral"],
        )
        payload = message_actions_payload(
            ws,
            user_id=user_id,
            channel=channel,
            message=message,
            is_ephemeral=source["is_ephemeral"],
            actions=[entry],
            state=state_values(message.get("blocks") or [], chosen),
            trigger_id=trigger_id,
            response_url=response_url,
            verification_token=self.verification_token,
        )
        return payload, response_url

    def _action_source(
        self,
        user_id: str,
        action_id: str,
        block_id: str | None,
        channel_id: str | None,
        message_ts: str | None,
        view_id: str | None,
        revision: int | None = None,
    ) -> dict:
        """Where the clicked element is: ``{"blocks", "view"}`` or ``{"blocks",
        "message", "channel", "is_ephemeral"}``."""
        ws = self.workspace
        if view_id is not None:
            record = ws.views.get(view_id)
            if record is None:
                raise LookupError(f"no open view {view_id!r}")
            return self._view_source(record["view"])
        if message_ts is not None:
            return self._message_source(user_id, message_ts, channel_id, revision)

        def has(blocks: list[dict]) -> bool:
            return find_element(blocks, action_id, block_id) is not None

        stack = ws.modal_stack(user_id)
        if stack and has(stack[-1]["blocks"]):
            return self._view_source(stack[-1])
        for message in self._shown_to(user_id, channel_id):
            if has(message.get("blocks") or []):
                return self._message_source(user_id, message["ts"], channel_id)
        home = ws.homes.get(user_id)
        if home and has(ws.views[home]["view"]["blocks"]):
            return self._view_source(ws.views[home]["view"])
        raise LookupError(
            f"no message, modal or Home tab shown to {user_id} has an element "
            f"with action_id {action_id!r}"
        )

    @staticmethod
    def _view_source(view: dict) -> dict:
        view = copy.deepcopy(view)
        return {"blocks": view["blocks"], "view": view}

    def _shown_to(self, user_id: str, channel_id: str | None) -> list[dict]:
        """Messages in the user's conversations and their ephemerals, newest first."""
        ws = self.workspace
        shown = [
            message
            for cid, channel in ws.channels.items()
            if channel_id in (None, cid) and user_id in channel["members"]
            for message in ws.history.get(cid, [])
        ]
        shown += [
            e for e in ws.ephemerals if e["user"] == user_id and channel_id in (None, e["channel"])
        ]
        return sorted(shown, key=lambda m: _ts_key(m["ts"]), reverse=True)

    def _message_source(
        self, user_id: str, ts: str, channel_id: str | None, revision: int | None = None
    ) -> dict:
        ws = self.workspace
        ephemeral = ws.find_ephemeral(ts)
        if ephemeral is not None:
            if ephemeral["user"] != user_id:
                raise LookupError(f"the ephemeral {ts} is shown to {ephemeral['user']} only")
            shown = ws.as_shown(ephemeral, revision)
            return {
                "blocks": shown.get("blocks") or [],
                "message": shown,
                "channel": ws.channels[ephemeral["channel"]],
                "is_ephemeral": True,
            }
        channel_ids = [channel_id] if channel_id else list(ws.history)
        for cid in channel_ids:
            message = ws.find_message(cid, ts)
            if message is not None:
                shown = ws.as_shown(message, revision)
                return {
                    "blocks": shown.get("blocks") or [],
                    "message": shown,
                    "channel": ws.channels[cid],
                    "is_ephemeral": False,
                }
        where = f" in {channel_id}" if channel_id else ""
        raise LookupError(f"no message with ts {ts}{where}")

    @staticmethod
    def _no_element(action_id: str, block_id: str | None, blocks: list[dict]) -> str:
        found = [(b.get("block_id"), e["action_id"]) for b, e in elements(blocks)]
        wanted = f"{block_id}/{action_id}" if block_id else action_id
        return f"no element {wanted!r} there; (block_id, action_id) pairs are: {found}"

    def suggest(
        self, user_id: str, view_id: str, block_id: str, action_id: str, value: str = ""
    ) -> list[dict]:
        """A person types ``value`` into an ``external_select`` of their open modal: Slack
        sends ``block_suggestion`` and shows the options the app answers with. Returns
        them (each ``{"text": ..., "value": ...}``, groups flattened); an answer Slack
        would refuse (over 100 options, a too long text...) shows nothing: ``[]``, with
        the problems in the delivery's ``error`` (see :meth:`deliveries`)."""
        ws = self.workspace
        with ws.lock:
            record = ws.views.get(view_id)
            if record is None or record.get("user") not in (None, user_id):
                raise LookupError(f"no view {view_id!r} open for {user_id}")
            view = copy.deepcopy(record["view"])
            found = find_element(view["blocks"], action_id, block_id)
            if found is None or found[1].get("type") not in (
                "external_select",
                "multi_external_select",
            ):
                raise LookupError(f"no external select {block_id}/{action_id} in {view_id}")
            payload = block_suggestion_payload(
                ws,
                user_id=user_id,
                view=view,
                block_id=block_id,
                action_id=action_id,
                value=value,
                verification_token=self.verification_token,
            )
        delivery = self._deliver(interactive_body(payload), FORM, payload)
        self._record(delivery)
        if delivery.error or delivery.status != 200:
            return []
        problems = options_problems(delivery.body)
        if problems:
            delivery.error = "invalid_options: " + "; ".join(problems)
            return []
        answer = delivery.body
        options = list(answer.get("options") or [])
        for group in answer.get("option_groups") or []:
            options.extend(group.get("options") or [])
        return options

    def submit(self, user_id: str, view_id: str, values: dict | None = None) -> Delivery:
        """A person submits the modal on top of their stack.

        ``values`` is ``{block_id: {action_id: value}}`` where a value is what the
        person entered: ``str`` for text inputs and single selects (the option's
        ``value``), a ``list`` for multi-selects and checkboxes, ``date``/``"YYYY-MM-DD"``
        for a datepicker, an aware ``datetime`` or epoch ``int`` for a datetimepicker...,
        or Slack's own state entry (``{"type": "plain_text_input", "value": "..."}``).
        Inputs left out keep their initial (or current) value. Raises
        :class:`InputRefused` when the Slack client would not submit (an empty required
        input, an unknown option, a text over ``max_length``).

        The app's answer is applied as Slack does: ``errors`` stay on the view
        (:meth:`view_errors`), ``update`` replaces it, ``push`` pushes a new one,
        ``clear`` closes the whole stack, an empty answer closes this view.
        """
        ws = self.workspace
        with ws.lock:
            stack = ws.stacks.get(user_id) or []
            if not stack or stack[-1] != view_id:
                raise LookupError(
                    f"{view_id!r} is not the top modal of {user_id} (their stack: {stack})"
                )
            stored = ws.views[view_id]["view"]
            base = stored.get("state", {}).get("values", {})
            stored["state"] = state_values(
                stored["blocks"], values or {}, base=base, enforce_required=True
            )
            ws.view_errors.pop(view_id, None)
            trigger_id = ws.issue_trigger(user_id)
            payload = view_submission_payload(
                ws,
                user_id=user_id,
                view=stored,
                trigger_id=trigger_id,
                verification_token=self.verification_token,
            )
        delivery = self._deliver(interactive_body(payload), FORM, payload, trigger_id=trigger_id)
        with ws.lock:
            self._apply_view_answer(delivery, user_id, view_id)
            ws.changed()
        return self._record(delivery)

    def _apply_view_answer(self, delivery: Delivery, user_id: str, view_id: str) -> None:
        ws = self.workspace
        answer = delivery.body
        if delivery.error:
            return  # Slack shows "We had some trouble connecting" and keeps the view
        if answer in (None, "", {}):
            ws.close_views(user_id, view_id=view_id)
            return
        if not isinstance(answer, dict):
            delivery.error = "invalid_response: a view submission answer must be JSON"
            return
        action = answer.get("response_action")
        try:
            if action == "errors":
                self._show_view_errors(view_id, answer.get("errors"))
            elif action in ("update", "push"):
                view = answer.get("view")
                problems = view_problems(view, allowed_types=("modal",))
                if problems:
                    raise ApiError("invalid_arguments", problems)
                if action == "update":
                    ws.update_view(view, view_id=view_id)
                else:
                    ws.push_modal(user_id, view)
            elif action == "clear":
                ws.close_views(user_id, all_views=True)
            elif action is None:
                ws.close_views(user_id, view_id=view_id)
            else:
                raise ApiError("invalid_response_action", [f"unknown response_action {action!r}"])
        except ApiError as exc:
            delivery.error = str(exc)

    def _show_view_errors(self, view_id: str, errors: Any) -> None:
        ws = self.workspace
        blocks = ws.views[view_id]["view"]["blocks"]
        inputs = {b["block_id"] for b in blocks if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            raise ApiError("invalid_arguments", ["errors must be a non-empty object"])
        unknown = sorted(set(errors) - inputs)
        if unknown:
            raise ApiError(
                "invalid_arguments",
                [f"errors name blocks that are not input blocks of the view: {unknown}"],
            )
        ws.view_errors[view_id] = copy.deepcopy(errors)

    def close_view(self, user_id: str, view_id: str) -> Delivery | None:
        """A person closes the modal on top of their stack (its close button or X).
        Sends ``view_closed`` only when the view asked for it (``notify_on_close``);
        ``clear_on_close`` closes the whole stack."""
        ws = self.workspace
        with ws.lock:
            stack = ws.stacks.get(user_id) or []
            if not stack or stack[-1] != view_id:
                raise LookupError(f"{view_id!r} is not the top modal of {user_id}")
            view = copy.deepcopy(ws.views[view_id]["view"])
            cleared = bool(view.get("clear_on_close"))
            ws.close_views(user_id, view_id=view_id, all_views=cleared)
            ws.changed()
            if not view.get("notify_on_close"):
                return None
            payload = view_closed_payload(
                ws,
                user_id=user_id,
                view=view,
                is_cleared=cleared,
                verification_token=self.verification_token,
            )
        return self._record(self._deliver(interactive_body(payload), FORM, payload))

    def build_event(self, event: dict, event_id: str | None = None) -> dict:
        """The ``event_callback`` envelope Slack would send for ``event``."""
        with self.workspace.lock:
            return event_envelope(
                self.workspace, event, event_id=event_id, verification_token=self.verification_token
            )

    def event(
        self,
        event: dict,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """Send an Events API callback. Pass the same ``event_id`` with ``retry_num``
        (and ``retry_reason``, e.g. ``http_timeout``; ``http_error`` by default) to send
        Slack's retry of it."""
        envelope = self.build_event(event, event_id)
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_error"
        delivery = self._deliver(json_body(envelope), JSON, envelope, extra_headers=headers)
        return self._record(delivery)

    # ------------------------------------------------------------ lifecycle

    def uninstall(self, event_id: str | None = None, *, retry_num: int | None = None) -> Delivery:
        """An admin removes the app: its bot token stops working (``token_revoked``) and
        ``app_uninstalled`` is sent (again, with the same ``event_id`` and ``retry_num``,
        as Slack's retry)."""
        with self.workspace.lock:
            self.api.revoked = True
        return self.event(
            app_uninstalled_event(self.workspace), event_id=event_id, retry_num=retry_num
        )

    def revoke_tokens(
        self, *, bot: bool = True, oauth: list[str] | None = None, event_id: str | None = None
    ) -> Delivery:
        """Tokens are revoked: ``tokens_revoked`` is sent, naming the bot's user id under
        ``bot`` when ``bot`` (its token then stops working) and ``oauth`` user ids."""
        with self.workspace.lock:
            if bot:
                self.api.revoked = True
            event = tokens_revoked_event(
                self.workspace, bot=[self.workspace.bot_user_id] if bot else None, oauth=oauth
            )
        return self.event(event, event_id=event_id)

    def reinstall(self) -> None:
        """The app is installed again: the bot token works again. (Slack sends no event
        for it; the app learns of it from the workspace's next request.)"""
        with self.workspace.lock:
            self.api.revoked = False
            self.workspace.changed()

    def rate_limited(self, minute: int | None = None) -> Delivery:
        """Slack tells the app it is dropping this workspace's events for ``minute`` (an
        epoch second at the start of a minute; now's by default): ``app_rate_limited``."""
        with self.workspace.lock:
            epoch = self.workspace.epoch()
            payload = app_rate_limited_payload(
                self.workspace,
                minute=minute if minute is not None else epoch - epoch % 60,
                verification_token=self.verification_token,
            )
        return self._record(self._deliver(json_body(payload), JSON, payload))

    def react(
        self,
        user_id: str,
        channel_id: str,
        ts: str,
        name: str,
        event_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """A person adds ``:name:`` to a message (a reply too): stored, then
        ``reaction_added`` is sent. ``event_id``/``retry_num`` as in :meth:`event`."""
        ws = self.workspace
        with ws.lock:
            ws.require_user(user_id)
            message = ws.add_reaction(channel_id, ts, name.strip(":"), user_id)
            event = reaction_added_event(
                ws, user_id=user_id, channel_id=channel_id, message=message, name=name.strip(":")
            )
            ws.changed()
        return self.event(event, event_id=event_id, retry_num=retry_num, retry_reason=retry_reason)

    def post_as(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> dict:
        """A person posts a message (stored; no event is sent). Returns it."""
        ws = self.workspace
        with ws.lock:
            ws.require_user(user_id)
            channel = ws.find_conversation(channel_id)
            if channel is None:
                raise LookupError(f"no conversation {channel_id!r}")
            if user_id not in channel["members"]:
                raise LookupError(f"{user_id} is not in {channel_id} (add_member first)")
            message = ws.post_message(channel["id"], text=text, thread_ts=thread_ts, user=user_id)
            ws.changed()
            return copy.deepcopy(message)

    def open_home(
        self,
        user_id: str,
        event_id: str | None = None,
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """A person opens the app's Home tab: ``app_home_opened`` is sent.
        ``event_id``/``retry_num`` as in :meth:`event`."""
        ws = self.workspace
        with ws.lock:
            ws.require_user(user_id)
            channel = ws.open_dm(user_id)
            home = ws.homes.get(user_id)
            event = app_home_opened_event(
                ws,
                user_id=user_id,
                channel_id=channel["id"],
                view=ws.views[home]["view"] if home else None,
            )
        return self.event(event, event_id=event_id, retry_num=retry_num, retry_reason=retry_reason)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """``python -m playground.standin``: run the stand-in in the foreground."""
    parser = argparse.ArgumentParser(description="Run the local Slack stand-in.")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--signing-secret", default="secret")
    parser.add_argument("--bot-token", default="xoxb-test")
    parser.add_argument("--request-url", default=None, help="the app's /slack/events URL")
    parser.add_argument("--team-id", default="T0001")
    parser.add_argument("--team-name", default="Acme Social")
    args = parser.parse_args(argv)
    standin = SlackStandIn(
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        team_id=args.team_id,
        team_name=args.team_name,
        port=args.port,
    )
    standin.request_url = args.request_url
    from playground.seed import seed_workspace  # the playground's people and channels

    seed_workspace(standin)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a polite kill
        signal.signal(signum, lambda *_: stopping.set())
    standin.start()
    print(f"Slack stand-in: Web API at {standin.api_url}", flush=True)
    if args.request_url:
        print(f"sending signed requests to {args.request_url}", flush=True)
    try:
        stopping.wait()
    finally:
        print("stopping", flush=True)
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
