// The guided tour shown by the "Guide" button: what to try, as whom, and where.
// Each step may name a person (`as`) and a channel (or "app" for Postroom, with `tab`
// "home" or "messages"); the guide offers a button to go there as that person when both
// exist. Keep the steps in line with the seed (playground/seed.py) and the README's tour.

export const GUIDE = [
  {
    as: "U0MARIA", channel: "C0GENERAL",
    text: "*Draft a post.* Type `/post draft` in the message box and press Enter. Pick *X* and *Bluesky*, brand *acme*, write a text longer than 280 characters and press *Save*: the form shows what is wrong, right under the text. Shorten it (keep `#AcmeCoffee`, Acme's guide asks for it) and save again: it goes for approval.",
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
    text: "*See it live on Bluesky.* Under *Networks*, *Bluesky* shows what Acme's account published on the playground's own Bluesky: once the approved post's time comes (move the clock past it if you scheduled it later), Postroom publishes it there, links clickable, with its URL back in Slack. Then be a customer: the form at the bottom mentions Acme, or replies to its post.",
  },
];
