"""The outbound gate (bot/outbound.py): URL forms, address rules, the allow-list, vetting at
connect time against the vetted address, and failures told as categories."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import outbound
from bot.outbound import OutboundRefused, Policy

NO_DNS = Policy(resolve=lambda host, port: [])
PUBLIC = "93.184.215.14"


def public_dns(host, port):
    return [PUBLIC]


# The list: each was stored, and would have been called.
PROBES = {
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://127.0.0.1:5432/": "loopback",
    "http://[::1]:6379/": "loopback",
    "http://0x7f000001/": "loopback",
    "http://2130706433/": "loopback",
    "http://0177.0.0.1/": "loopback",
    "http://127.1/": "loopback",
    "http://10.1.2.3/": "private",
    "http://0.0.0.0/": "unspecified",
    "http://224.0.0.1/": "multicast",
    "http://100.64.0.1/": "not public",
    "http://[::ffff:127.0.0.1]/": "loopback (inside an IPv6 address)",
    "http://[::ffff:7f00:1]/": "loopback (inside an IPv6 address)",
    "http://[2002:a9fe:a9fe::]/": "link-local (inside an IPv6 address)",
    "http://[64:ff9b::a00:1]/": "private (inside an IPv6 address)",
    "http://[fe80::1]/": "link-local",
    "http://[fc00::1]/": "private",
    "http://[ff02::1]/": "multicast",
    "http://[::]/": "unspecified",
}


@pytest.mark.parametrize(("url", "reason"), sorted(PROBES.items()))
def test_inward_addresses_are_refused_with_the_reason_and_the_fix(url, reason):
    with pytest.raises(OutboundRefused) as refused:
        outbound.vet(url, Policy(), "The webhook")
    assert f"points at a {reason} address" in str(refused.value)
    assert "POSTROOM_ALLOW_HOSTS" in str(refused.value)
    assert refused.value.category == outbound.BLOCKED


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:pass@127.0.0.1/", "user name or password"),
        ("https://token@hooks.example/", "user name or password"),
        ("http://hooks.example:99999/", "port `99999`: use 1 to 65535"),
        ("http://hooks.example:0/", "use 1 to 65535"),
        ("http://hooks.example:80a/", "use 1 to 65535"),
        ("http:///nohost", "has no host"),
        ("ftp://hooks.example/", "must be an http(s) URL"),
        ("javascript:alert(1)", "must be an http(s) URL"),
        ("http://hooks example/", "spaces"),
        ("http://hooks.example\\@evil/", "`\\`"),
        ("http://256.1.1.1/", "isn't a valid IPv4 address"),
        ("http://1.2.3.4.5/", "isn't a valid IPv4 address"),
        ("http://08.0.0.1/", "isn't a valid IPv4 address"),
        ("http://[fe80::1%25eth0]/", "IPv6 zone"),
        ("http://-bad-.example/", "isn't valid"),
        ("", "is empty"),
    ],
)
def test_malformed_urls_are_refused_before_any_lookup(url, says):
    with pytest.raises(OutboundRefused, match=None) as refused:
        outbound.check(url, "The webhook")
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Hooks.Example./p?q=1#frag", "https://hooks.example/p?q=1"),
        ("http://0x7f000001/", "http://127.0.0.1/"),
        ("http://2130706433:8080", "http://127.0.0.1:8080/"),
        ("http://0177.0.0.01/", "http://127.0.0.1/"),
        ("http://10.1/", "http://10.0.0.1/"),
        ("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
        ("https://hooks.example:443/x", "https://hooks.example/x"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ],
)
def test_urls_are_normalised_the_way_a_resolver_reads_them(url, normal):
    assert outbound.check(url).url == normal


def test_the_allow_list_lets_the_operators_hosts_through_in_any_spelling():
    allowed = Policy.from_setting(" 127.0.0.1 , hooks.internal ", resolve=lambda h, p: ["10.0.0.5"])
    assert outbound.vet("http://0x7f000001:9000/p", allowed).addresses == ("127.0.0.1",)
    assert outbound.vet("https://HOOKS.internal/p", allowed).addresses == ("10.0.0.5",)
    with pytest.raises(OutboundRefused):
        outbound.vet("http://127.0.0.2/", allowed)
    with pytest.raises(ValueError, match="not a host"):
        Policy.from_setting("hooks.example/path")


def test_a_name_is_refused_when_any_of_its_addresses_points_inward():
    mixed = Policy(resolve=lambda host, port: [PUBLIC, "192.168.1.10"])
    with pytest.raises(OutboundRefused, match=r"private address \(hooks.example is 192.168.1.10\)"):
        outbound.vet("https://hooks.example/", mixed)
    assert outbound.vet("https://hooks.example/", Policy(resolve=public_dns)).addresses == (PUBLIC,)
    with pytest.raises(OutboundRefused, match="can't be found"):
        outbound.vet("https://nowhere.example/", NO_DNS)


# --- Hypothesis: URL forms -------------------------------------------------------------------

PRIVATE_V4 = st.one_of(
    st.integers(0x7F000000, 0x7FFFFFFF),  # 127/8
    st.integers(0x0A000000, 0x0AFFFFFF),  # 10/8
    st.integers(0xAC100000, 0xAC1FFFFF),  # 172.16/12
    st.integers(0xC0A80000, 0xC0A8FFFF),  # 192.168/16
    st.integers(0xA9FE0000, 0xA9FEFFFF),  # 169.254/16
    st.integers(0x00000000, 0x00FFFFFF),  # 0/8
    st.integers(0xE0000000, 0xFFFFFFFF),  # multicast, reserved, broadcast
    st.integers(0x64400000, 0x647FFFFF),  # 100.64/10
)


def spellings(number: int) -> st.SearchStrategy[str]:
    """Ways inet_aton (and so a resolver) reads the same IPv4 address."""
    b = number.to_bytes(4, "big")

    def part(value: int) -> st.SearchStrategy[str]:
        return st.sampled_from([str(value), hex(value), "0" + oct(value)[2:]])

    return st.one_of(
        st.tuples(*(part(x) for x in b)).map(".".join),
        st.tuples(part(b[0]), part(b[1]), part(int.from_bytes(b[2:], "big"))).map(".".join),
        st.tuples(part(b[0]), part(int.from_bytes(b[1:], "big"))).map(".".join),
        part(number),
    )


def v6_forms(number: int) -> st.SearchStrategy[str]:
    v4 = ipaddress.IPv4Address(number)
    return st.sampled_from(
        [
            f"[::ffff:{v4}]",
            f"[{ipaddress.IPv6Address((0xFFFF << 32) | number)}]",
            f"[{ipaddress.IPv6Address((0x2002 << 112) | (number << 80))}]",
            f"[64:ff9b::{v4}]",
        ]
    )


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    PRIVATE_V4,
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["", ":80", ":8080", ":5432"]),
)
def test_no_spelling_of_an_inward_ipv4_address_passes(data, number, scheme, port):
    host = data.draw(st.one_of(spellings(number), v6_forms(number)))
    url = f"{scheme}://{host}{port}/p"
    with pytest.raises(OutboundRefused) as refused:
        outbound.vet(url, Policy(resolve=public_dns))
    assert refused.value.category in (outbound.BLOCKED, outbound.NO_CONNECTION)
    if not host.startswith("["):  # every IPv4 spelling reads as the same address
        assert outbound.check(url).host == str(ipaddress.IPv4Address(number))


URLISH = st.lists(
    st.sampled_from(
        list("htps:/[]@%.:-_?#0123456789abcdefxABCX \\\t\n\x00é")
        + ["http://", "https://", "::", "0x", "ffff:", "127.", "[::1]", "@", ":99999"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), URLISH, URLISH.map(lambda s: "http://" + s)))
def test_any_text_is_either_a_url_or_the_typed_refusal(text):
    try:
        vetted = outbound.vet(text, Policy(resolve=public_dns))
    except OutboundRefused as refused:
        assert str(refused)
        return
    for address in vetted.addresses:
        assert outbound.blocked_reason(address) is None
    assert outbound.check(vetted.target.url) == vetted.target  # the normal form is stable


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_an_address_passes_only_when_it_is_global_unicast(ip):
    reason = outbound.blocked_reason(ip)
    if reason is None:
        assert ip.is_global and not ip.is_multicast and not ip.is_reserved
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            assert ip.ipv4_mapped.is_global


# --- requests ------------------------------------------------------------------------------


class Receiver:
    def __init__(self, status=200, stall=False):
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if stall:
                    threading.Event().wait(2)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(status)
                self.send_header("Location", "http://169.254.169.254/")
                self.end_headers()
                self.wfile.write(b"secret internal banner: redis 7.2 on port 6379")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_the_request_goes_to_the_vetted_address_with_the_urls_host(receiver):
    hook = receiver()
    allowed = Policy(allow_hosts=frozenset({"hooks.test"}), resolve=lambda h, p: ["127.0.0.1"])
    answer = outbound.post(f"http://hooks.test:{hook.port}/in?x=1", b"{}", {}, allowed, 2)
    assert (answer.ok, answer.status, answer.category) == (True, 200, "")
    assert hook.requests[0]["headers"]["Host"] == f"hooks.test:{hook.port}"


def test_a_name_that_turns_inward_after_saving_is_refused_at_connect_time(receiver):
    """DNS rebinding: public when the admin saved it, loopback when it is called."""
    hook = receiver()
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    rebinding = Policy(resolve=lambda host, port: next(answers))
    url = f"http://rebind.example:{hook.port}/"
    outbound.vet(url, rebinding)  # at save time: fine
    answer = outbound.post(url, b"{}", {}, rebinding, 2)
    assert (answer.ok, answer.category) == (False, outbound.BLOCKED)
    assert hook.requests == []


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (302, outbound.REDIRECTED),
        (404, outbound.REFUSED),
        (401, outbound.REFUSED),
        (500, outbound.SERVER_ERROR),
        (503, outbound.SERVER_ERROR),
    ],
)
def test_failures_are_categories_never_the_remotes_text(receiver, status, category):
    hook = receiver(status=status)
    local = Policy(allow_hosts=frozenset({"127.0.0.1"}))
    answer = outbound.post(f"http://127.0.0.1:{hook.port}/", b"{}", {}, local, 2)
    assert (answer.ok, answer.status, answer.category) == (False, status, category)
    assert "redis" not in answer.category + answer.detail
    assert len(hook.requests) == 1  # a redirect is not followed


def test_silence_and_closed_ports_are_timed_out_and_could_not_connect(receiver):
    local = Policy(allow_hosts=frozenset({"127.0.0.1"}))
    slow = receiver(stall=True)
    answer = outbound.post(f"http://127.0.0.1:{slow.port}/", b"{}", {}, local, 0.3)
    assert answer.category == outbound.TIMED_OUT
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    answer = outbound.post(f"http://127.0.0.1:{closed}/", b"{}", {}, local, 1)
    assert (answer.ok, answer.status, answer.category) == (False, None, outbound.NO_CONNECTION)
    assert "refused" in answer.detail.lower()  # the operator's log keeps the detail


# --- TLS: the certificate and SNI are the URL's host, the socket goes to the vetted address


def self_signed(tmp_path, name):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_receiver(tmp_path):
    servers = []

    def make(cert_name):
        cert_file, key_file = self_signed(tmp_path, cert_name)
        hook = Receiver()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        hook.server_names = []
        context.sni_callback = lambda sock, name, ctx: hook.server_names.append(name)
        hook.server.socket = context.wrap_socket(hook.server.socket, server_side=True)
        trust = ssl.create_default_context(cafile=str(cert_file))
        servers.append(hook)
        return hook, trust

    yield make
    for hook in servers:
        hook.close()


def test_tls_goes_to_the_vetted_address_with_the_urls_name(tls_receiver):
    hook, trust = tls_receiver("hooks.test")
    policy = Policy(
        allow_hosts=frozenset({"hooks.test"}), resolve=lambda h, p: ["127.0.0.1"], tls=trust
    )
    answer = outbound.post(f"https://hooks.test:{hook.port}/in", b"{}", {}, policy, 2)
    assert (answer.ok, answer.status) == (True, 200), answer.detail
    assert hook.server_names == ["hooks.test"]
    assert hook.requests[0]["headers"]["Host"] == f"hooks.test:{hook.port}"


def test_a_certificate_for_another_name_is_could_not_connect(tls_receiver):
    hook, trust = tls_receiver("other.test")
    policy = Policy(
        allow_hosts=frozenset({"hooks.test"}), resolve=lambda h, p: ["127.0.0.1"], tls=trust
    )
    answer = outbound.post(f"https://hooks.test:{hook.port}/in", b"{}", {}, policy, 2)
    assert (answer.ok, answer.category) == (False, outbound.NO_CONNECTION)
    assert "certificate" in answer.detail.lower()
    assert hook.requests == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(URLISH, st.text(max_size=60)))
def test_the_brand_commands_webhook_option_refuses_with_usage_only(text):
    from bot import grammar
    from bot.errors import UsageError

    try:
        _, changes = grammar.parse_brand(["acme", f"webhook:{text}"])
    except UsageError as refused:
        assert str(refused) and refused.usage
        return
    if changes.webhook_url:  # what it keeps is a URL in normal form
        assert outbound.check(changes.webhook_url).url == changes.webhook_url


def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline():
    """Each byte within the socket timeout, the whole answer far past it: timed out."""
    stop = threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n":
                if stop.wait(0.05):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = Policy(allow_hosts=frozenset({"127.0.0.1"}))
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        answer = outbound.post(url, b"{}", {}, local, 0.5)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    assert (answer.ok, answer.status, answer.category) == (False, None, outbound.TIMED_OUT)


def test_a_lookup_that_hangs_is_refused_at_its_deadline(monkeypatch):
    """getaddrinfo has no timeout of its own: a resolver that never answers must not hold
    the person saving a webhook (or a worker) for the system's 30+ s."""
    released = threading.Event()

    def hanging(*_args, **_kwargs):
        released.wait(5)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    policy = Policy(resolve=lambda host, port: outbound.system_resolver(host, port, 0.05))
    try:
        with pytest.raises(OutboundRefused, match="didn't resolve in time") as refused:
            outbound.vet("https://hooks.example.com/x", policy, "The webhook")
    finally:
        released.set()
    assert refused.value.category == outbound.NO_CONNECTION
