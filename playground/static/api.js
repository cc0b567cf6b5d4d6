// The page's calls to the stand-in (/ui/api/...) and its live update stream.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the playground answered ${response.status} without JSON`, response.status);
  }
  if (!response.ok || !body.ok) {
    throw new ApiError(body?.error || `HTTP ${response.status}`, response.status);
  }
  return body;
}

/** GET /ui/api/<name>?<params> */
export async function get(name, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v != null));
  return answer(await fetch(`/ui/api/${name}?${query}`, { cache: "no-store" }));
}

/** POST /ui/api/<name> with a JSON body. */
export async function post(name, body = {}) {
  return answer(await fetch(`/ui/api/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  }));
}

/** Follow the workspace's changes: onChange({version, clock}) after each one;
 * onStatus(true|false) when the stream connects or drops (the browser reconnects). */
export function follow(as, onChange, onStatus) {
  const source = new EventSource(`/ui/api/events?as=${encodeURIComponent(as)}`);
  source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
  source.addEventListener("open", () => onStatus(true));
  source.addEventListener("error", () => onStatus(false));
  return () => source.close();
}
