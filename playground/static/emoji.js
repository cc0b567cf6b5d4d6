// Emoji short names (":rotating_light:") and the characters they stand for.
//
// A small offline table of the emoji people use most at work, with Slack's names. A
// name that is not here is shown as its text (":custom_emoji:"), as Slack does for an
// emoji it cannot draw.

/** name -> character, in the order the picker shows them. */
export const EMOJI = {
  // reactions people use every day
  "+1": "👍", "-1": "👎", "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌",
  "eyes": "👀", "raised_hands": "🙌", "clap": "👏", "pray": "🙏", "tada": "🎉",
  "heart": "❤️", "fire": "🔥", "100": "💯", "rocket": "🚀", "thinking_face": "🤔",
  "joy": "😂", "slightly_smiling_face": "🙂", "smile": "😄", "grinning": "😀", "wink": "😉",
  "sweat_smile": "😅", "sob": "😭", "cry": "😢", "rage": "😡", "angry": "😠",
  "confused": "😕", "open_mouth": "😮", "scream": "😱", "face_palm": "🤦", "shrug": "🤷",
  "wave": "👋", "ok_hand": "👌", "muscle": "💪", "point_up": "☝️", "point_right": "👉",
  // alerts and states
  "rotating_light": "🚨", "warning": "⚠️", "exclamation": "❗", "question": "❓",
  "no_entry": "⛔", "no_entry_sign": "🚫", "sos": "🆘", "bangbang": "‼️", "bell": "🔔",
  "boom": "💥", "zap": "⚡", "sparkles": "✨", "star": "⭐", "bulb": "💡",
  "lock": "🔒", "unlock": "🔓", "key": "🔑", "hourglass": "⌛", "hourglass_flowing_sand": "⏳",
  "stopwatch": "⏱️", "alarm_clock": "⏰", "clock9": "🕘", "calendar": "📆", "date": "📅",
  "spiral_calendar_pad": "🗓️", "pushpin": "📌", "round_pushpin": "📍", "paperclip": "📎",
  "memo": "📝", "pencil2": "✏️", "page_facing_up": "📄", "clipboard": "📋",
  "bar_chart": "📊", "chart_with_upwards_trend": "📈", "chart_with_downwards_trend": "📉",
  "mag": "🔍", "link": "🔗", "email": "📧", "envelope": "✉️", "inbox_tray": "📥",
  "outbox_tray": "📤", "mailbox": "📫", "postbox": "📮", "package": "📦", "speech_balloon": "💬",
  "loudspeaker": "📢", "mega": "📣", "iphone": "📱", "camera": "📷", "movie_camera": "🎥",
  "frame_with_picture": "🖼️", "art": "🎨", "newspaper": "📰", "label": "🏷️", "ticket": "🎫",
  "admission_tickets": "🎟️", "wrench": "🔧", "hammer_and_wrench": "🛠️", "gear": "⚙️",
  "recycle": "♻️", "arrows_counterclockwise": "🔄", "repeat": "🔁", "leftwards_arrow_with_hook": "↩️",
  "arrow_right": "➡️", "arrow_up": "⬆️", "arrow_down": "⬇️", "heavy_plus_sign": "➕",
  "heavy_minus_sign": "➖", "information_source": "ℹ️", "new": "🆕", "free": "🆓",
  "red_circle": "🔴", "large_orange_circle": "🟠", "large_yellow_circle": "🟡",
  "large_green_circle": "🟢", "large_blue_circle": "🔵", "white_circle": "⚪", "black_circle": "⚫",
  "checkered_flag": "🏁", "triangular_flag_on_post": "🚩", "crown": "👑", "trophy": "🏆",
  "gift": "🎁", "balloon": "🎈", "coffee": "☕", "pizza": "🍕", "beers": "🍻", "cake": "🍰",
  "sunny": "☀️", "cloud": "☁️", "umbrella": "☂️", "snowflake": "❄️", "earth_africa": "🌍",
  "globe_with_meridians": "🌐", "house": "🏠", "office": "🏢", "robot_face": "🤖",
  "busts_in_silhouette": "👥", "bust_in_silhouette": "👤", "man-raising-hand": "🙋‍♂️",
  "raising_hand": "🙋", "see_no_evil": "🙈", "skull": "💀", "ghost": "👻", "money_with_wings": "💸",
  "moneybag": "💰", "credit_card": "💳", "shopping_trolley": "🛒", "truck": "🚚",
  "hourglass_done": "⌛", "zzz": "💤", "thumbsup": "👍", "thumbsdown": "👎",
  "unamused": "😒", "disappointed": "😞", "neutral_face": "😐", "relieved": "😌", "heart_eyes": "😍",
  "star-struck": "🤩", "partying_face": "🥳", "upside_down_face": "🙃", "sunglasses": "😎",
  "leaves": "🍃", "fallen_leaf": "🍂", "maple_leaf": "🍁",
  "envelope_with_arrow": "📩", "incoming_envelope": "📨",
  // plants and nature, food and drink (a coffee company's feed is full of them)
  "seedling": "🌱", "herb": "🌿", "shamrock": "☘️", "four_leaf_clover": "🍀", "evergreen_tree": "🌲",
  "deciduous_tree": "🌳", "palm_tree": "🌴", "cactus": "🌵", "tulip": "🌷", "rose": "🌹",
  "sunflower": "🌻", "blossom": "🌼", "cherry_blossom": "🌸", "hibiscus": "🌺", "bouquet": "💐",
  "mushroom": "🍄", "ear_of_rice": "🌾", "rainbow": "🌈", "ocean": "🌊", "droplet": "💧",
  "sweat_drops": "💦", "crescent_moon": "🌙", "full_moon": "🌕", "partly_sunny": "⛅",
  "rain_cloud": "🌧️", "thunder_cloud_and_rain": "⛈️", "tornado": "🌪️", "fog": "🌫️",
  "apple": "🍎", "green_apple": "🍏", "lemon": "🍋", "banana": "🍌", "strawberry": "🍓",
  "cherries": "🍒", "avocado": "🥑", "bread": "🍞", "croissant": "🥐", "doughnut": "🍩",
  "cookie": "🍪", "chocolate_bar": "🍫", "birthday": "🎂", "ice_cream": "🍨", "tea": "🍵",
  "milk_glass": "🥛", "beer": "🍺", "wine_glass": "🍷", "champagne": "🍾", "cup_with_straw": "🥤",
  "hamburger": "🍔", "fries": "🍟", "taco": "🌮", "sushi": "🍣", "popcorn": "🍿",
  "dog": "🐶", "cat": "🐱", "unicorn_face": "🦄", "bee": "🐝", "bug": "🐛", "snail": "🐌",
  "turtle": "🐢", "bird": "🐦", "penguin": "🐧", "owl": "🦉", "fox_face": "🦊", "panda_face": "🐼",
  // faces and hands people type
  "slightly_frowning_face": "🙁", "white_frowning_face": "☹️", "worried": "😟", "weary": "😩",
  "tired_face": "😫", "triumph": "😤", "unamused_face": "😒", "expressionless": "😑",
  "no_mouth": "😶", "smirk": "😏", "grimacing": "😬", "rolling_eyes": "🙄", "hushed": "😯",
  "astonished": "😲", "flushed": "😳", "zipper_mouth_face": "🤐", "nerd_face": "🤓",
  "innocent": "😇", "blush": "😊", "kissing_heart": "😘", "laughing": "😆", "rolling_on_the_floor_laughing": "🤣",
  "smiley": "😃", "hugging_face": "🤗", "star_struck": "🤩", "sleeping": "😴", "mask": "😷",
  "nauseated_face": "🤢", "exploding_head": "🤯", "pleading_face": "🥺", "poop": "💩",
  "thumbs_up": "👍", "handshake": "🤝", "v": "✌️", "crossed_fingers": "🤞", "fist": "✊",
  "facepunch": "👊", "writing_hand": "✍️", "point_left": "👈", "point_down": "👇",
  "raised_hand": "✋", "open_hands": "👐", "heart_hands": "🫶", "ear": "👂", "brain": "🧠",
  // hearts and symbols
  "yellow_heart": "💛", "green_heart": "💚", "blue_heart": "💙", "purple_heart": "💜",
  "black_heart": "🖤", "broken_heart": "💔", "sparkling_heart": "💖", "two_hearts": "💕",
  "heavy_exclamation_mark": "❗", "grey_question": "❔", "heavy_multiplication_x": "✖️",
  "negative_squared_cross_mark": "❎", "arrow_forward": "▶️", "arrow_left": "⬅️",
  "twisted_rightwards_arrows": "🔀", "soon": "🔜", "top": "🔝", "cool": "🆒", "ok": "🆗",
  "speech_left": "🗨️", "thought_balloon": "💭", "money_mouth_face": "🤑", "dollar": "💵",
  "euro": "💶", "pound": "💷", "shopping_bags": "🛍️", "shopping_cart": "🛒", "gift_heart": "💝",
  "confetti_ball": "🎊", "sparkler": "🎇", "fireworks": "🎆", "medal": "🏅", "dart": "🎯",
  "computer": "💻", "desktop_computer": "🖥️", "keyboard": "⌨️", "phone": "☎️", "telephone_receiver": "📞",
  "tv": "📺", "radio": "📻", "headphones": "🎧", "microphone": "🎤", "video_camera": "📹",
  "books": "📚", "book": "📖", "notebook": "📓", "ledger": "📒", "scroll": "📜", "bookmark": "🔖",
  "card_index": "📇", "file_folder": "📁", "open_file_folder": "📂", "scissors": "✂️",
  "straight_ruler": "📏", "triangular_ruler": "📐", "pencil": "📝", "lower_left_ballpoint_pen": "🖊️",
  "hammer": "🔨", "nut_and_bolt": "🔩", "shield": "🛡️", "bomb": "💣", "microscope": "🔬",
  "telescope": "🔭", "satellite": "📡", "battery": "🔋", "electric_plug": "🔌", "flashlight": "🔦",
  "candle": "🕯️", "moyai": "🗿", "airplane": "✈️", "car": "🚗", "bike": "🚲", "ship": "🚢",
  "world_map": "🗺️", "flag-gb": "🇬🇧", "flag-us": "🇺🇸", "flag-de": "🇩🇪", "flag-fr": "🇫🇷",
  "flag-es": "🇪🇸", "flag-pl": "🇵🇱", "flag-in": "🇮🇳", "flag-eu": "🇪🇺",
};

/** Other names Slack accepts for the same emoji. */
const ALIASES = {
  "thumbsup": "+1", "thumbsdown": "-1", "heavy_heart": "heart", "simple_smile": "slightly_smiling_face",
  "facepalm": "face_palm", "satisfied": "laughing", "hankey": "poop", "mailbox_with_mail": "mailbox",
  "calendar_spiral": "spiral_calendar_pad", "large_red_circle": "red_circle",
  "thumbs_up": "+1", "unamused_face": "unamused", "star_struck": "star-struck",
  "heavy_exclamation_mark": "exclamation", "shopping_cart": "shopping_trolley", "pencil": "memo",
};

/** Names shown in the picker's "Frequently used" row. */
export const FREQUENT = [
  "+1", "white_check_mark", "eyes", "raised_hands", "tada", "heart", "joy", "pray",
  "rotating_light", "warning", "fire", "100",
];

/** The character for an emoji name (without colons), or null when unknown. A skin tone
 * suffix ("::skin-tone-2") is ignored. */
export function emojiChar(name) {
  const bare = String(name).replace(/::skin-tone-\d$/, "");
  if (Object.prototype.hasOwnProperty.call(EMOJI, bare)) return EMOJI[bare];
  const alias = ALIASES[bare];
  if (alias && Object.prototype.hasOwnProperty.call(EMOJI, alias)) return EMOJI[alias];
  return null;
}

/** Every name the picker offers, aliases left out. */
export function allEmojiNames() {
  const seen = new Set();
  const names = [];
  for (const [name, char] of Object.entries(EMOJI)) {
    if (seen.has(char) && ALIASES[name]) continue;
    seen.add(char);
    names.push(name);
  }
  return names;
}
