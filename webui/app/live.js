// The staff's live channel outside rooms: risk alerts arrive here the moment they are raised.

let socket = null;
const listeners = new Map(); // event name -> Set of callbacks

function dispatch(name, data) {
  for (const fn of listeners.get(name) || []) {
    // A callback that returns false is done (its page is gone): drop it.
    if (fn(data) === false) listeners.get(name).delete(fn);
  }
}

export async function onLive(name, fn) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(fn);
  if (!socket) {
    socket = true; // claimed: one connection even when several cards ask at once
    // Loaded only for staff pages that listen: clients' phones never download it for this.
    const { io } = await import('./vendor/socket.io.esm.min.js');
    socket = io({ transports: ['websocket', 'polling'] });
    socket.on('alert', (data) => dispatch('alert', data));
    socket.on('signed_out', () => stopLive());
  }
}

export function stopLive() {
  if (socket && socket !== true) socket.close();
  socket = null;
  listeners.clear();
}
window.addEventListener('companion:logout', stopLive);
