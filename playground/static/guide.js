// The guided tour shown by the "Guide" button: what to try, as whom, and where.
// Each step may name a person (`as`) and a channel (or "app" for Postroom, with `tab`
// "home" or "messages"); the guide offers a button to go there as that person when both
// exist. Keep the steps in line with the seed (playground/seed.py) and the README's tour.

export const GUIDE = [
  {
    as: "U0MARIA", channel: "C0GENERAL",
    text: "*Draft a post.* Type `/post draft` in the message box and press Enter. Pick *X* and *Bluesky*, brand *acme*, set *Publish at* a few minutes ahead (a post without a *Publish at* time is never published), write a text longer than 280 characters and press *Save*: the form shows what is wrong, right under the text. Shorten it (keep `#AcmeCoffee`, Acme's guide asks for it) and save again: it goes for approval.",
  },
  {
    as: "U0MARIA", channel: "C0APPROVALS",
    text: "*Try to approve your own post.* The request is in #social-approvals. Click *Approve*: the app refuses, in a message only you can see.",
  },
  {
    as: "U0JONAS", channel: "C0APPROVALS",
    text: "*Approve it as the approver.* Jonas approves X and Bluesky posts: click *Approve* on the request.",
  },
  {
    as: "U0MARIA", channel: "app", tab: "messages",
    text: "*See the DM.* Back as Maria, open *Postroom* under Apps: its *Messages* tab has Jonas's decision. The *Home* tab next to it lists your drafts and what waits for you.",
  },
  {
    as: "U0MARIA", channel: "C0FEED",
    text: "*Route a complaint.* In #social-feed, hover a customer's message, click *☺+* and pick :rotating_light: (the emoji Postroom routes come first). A ticket card appears in #support for someone to take, and the message's thread says where it went. (:sos: would make it urgent: #support-urgent, handed to Lena and Sam in turn.)",
  },
  {
    as: "U0LENA", channel: "C0SUPPORT",
    text: "*Take the ticket as support.* Nobody has the new ticket yet: as Lena, click *Take it* on its card in #support, and the card says it is hers. Then change its priority, assign it to someone else, or *Resolve* it.",
  },
  {
    as: "U0MARIA", channel: "C0DIGEST",
    text: "*Preview the digest.* Type `/post digest` in #social-digest to see today's digest (only you see it). Then click the clock at the top (🕘), keep *09:00* and press *Go*: the app's scheduler runs and posts the digest.",
  },
  {
    as: "U0MARIA", channel: "net:bluesky:acme-coffee.test",
    text: "*See it live on Bluesky.* Under *Networks*, *Bluesky* shows what Acme's account published on the playground's own Bluesky: when the approved post's *Publish at* time comes (if it hasn't yet, click the clock at the top and move it past that time), Postroom publishes it there, links clickable, with its URL back in Slack.",
  },
  {
    as: "U0LENA", channel: "net:bluesky:acme-coffee.test",
    text: "*Be a customer.* The form at the bottom of the *Bluesky* pane posts as the customer, @jade-r.test. It starts with `@acme-coffee.test`: add what went wrong (say, _my cold brew kit never came_) and press *Post*. Acme's account is notified, as on Bluesky.",
  },
  {
    as: "U0LENA", channel: "C0SOCINBOX",
    text: "*See it in the inbox.* Postroom reads Acme's notifications every few seconds here: Jade's mention arrives in #social-inbox with her name, her words and a link to her post. As Lena (support), hover it, click *☺+* and pick :rotating_light:. The message's thread says which ticket it became.",
  },
  {
    as: "U0LENA", channel: "C0SUPPORT",
    text: "*Answer from the ticket.* The ticket's card in #support shows where it came from (Bluesky, @jade-r.test) and has *Reply…*. Click it, write the answer (the form shows Acme's playbook, and checks Bluesky's 300 characters) and press *Send*. Within seconds the card says who replied, with the reply's link.",
  },
  {
    as: "U0LENA", channel: "net:bluesky:acme-coffee.test",
    text: "*See the reply on Bluesky.* Back on the *Bluesky* pane, Acme's answer is there, *in reply to* Jade's post, in her thread. The same link is in the inbox message's thread in #social-inbox: the loop is closed.",
  },
];
