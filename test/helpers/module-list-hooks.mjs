// The loader hooks of module-list.mjs (they run on Node's hooks thread): each module URL is posted back.
let port;

export function initialize(data) {
  port = data.port;
}

export async function load(url, context, nextLoad) {
  port.postMessage(url);
  return nextLoad(url, context);
}
