// What the browser keeps per room: the chatter's id and secret token (so a reload rejoins as
// the same person), and a little about the room for the home screen's list.

import type { Identity } from './types';

const PREFIX = 'colachat:room:';

export interface SavedRoom extends Identity {
  roomId: string;
  title: string;
  expiresAt: string;
}

function read(key: string): unknown {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function isSaved(v: unknown): v is SavedRoom {
  const r = v as SavedRoom | null;
  return !!r && typeof r.chatterId === 'string' && typeof r.token === 'string' && typeof r.roomId === 'string';
}

export function loadIdentity(roomId: string): SavedRoom | null {
  const v = read(PREFIX + roomId);
  return isSaved(v) && v.roomId === roomId ? v : null;
}

export function saveIdentity(room: SavedRoom): void {
  try {
    localStorage.setItem(PREFIX + room.roomId, JSON.stringify(room));
  } catch {
    // Storage full or disabled: the session still works, a reload just starts over.
  }
}

export function forgetIdentity(roomId: string): void {
  try {
    localStorage.removeItem(PREFIX + roomId);
  } catch {
    // Nothing to forget.
  }
}

/** Saved rooms that have not expired yet, newest expiry first; expired ones are dropped. */
export function savedRooms(now = Date.now()): SavedRoom[] {
  const rooms: SavedRoom[] = [];
  let keys: string[] = [];
  try {
    keys = Object.keys(localStorage).filter((k) => k.startsWith(PREFIX));
  } catch {
    return rooms;
  }
  for (const key of keys) {
    const v = read(key);
    if (!isSaved(v)) continue;
    if (Date.parse(v.expiresAt) <= now) {
      forgetIdentity(v.roomId);
      continue;
    }
    rooms.push(v);
  }
  return rooms.sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
}
