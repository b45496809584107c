// What the browser keeps per joined room: the chatter's id and secret token (so a reload
// rejoins as the same person), a little about the room for the home screen's list before
// the server answers, and how far the person has read.

import type { Identity, Room } from './types';

const PREFIX = 'colachat:room:';

export interface SavedRoom extends Identity {
  roomId: string;
  title: string;
  expiresAt: string;
  namespace?: string;
  capacity?: number;
  isPassword?: boolean;
  /** The id of the newest message the person has seen in the room. */
  lastRead?: number;
  /** When the person entered (ms), to keep the list's order stable. */
  joinedAt?: number;
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

function write(room: SavedRoom): void {
  try {
    localStorage.setItem(PREFIX + room.roomId, JSON.stringify(room));
  } catch {
    // Storage full or disabled: the session still works, a reload just starts over.
  }
}

/** Saves (or updates) the identity and what the list shows about the room. */
export function saveIdentity(room: Room, identity: Identity): void {
  const prev = loadIdentity(room.id);
  write({
    roomId: room.id,
    chatterId: identity.chatterId,
    token: identity.token,
    title: room.title,
    expiresAt: room.expiresAt,
    namespace: room.namespace,
    capacity: room.capacity,
    isPassword: room.isPassword,
    lastRead: prev?.chatterId === identity.chatterId ? prev.lastRead : undefined,
    joinedAt: prev?.joinedAt ?? Date.now(),
  });
}

export function saveLastRead(roomId: string, id: number): void {
  const prev = loadIdentity(roomId);
  if (prev && (prev.lastRead ?? 0) < id) write({ ...prev, lastRead: id });
}

export function forgetIdentity(roomId: string): void {
  try {
    localStorage.removeItem(PREFIX + roomId);
  } catch {
    // Nothing to forget.
  }
}

/** Saved rooms that have not expired yet, in the order they were entered; expired ones are dropped. */
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
  return rooms.sort((a, b) => (a.joinedAt ?? 0) - (b.joinedAt ?? 0));
}

/** The room as far as the saved record knows it, until the server says more. */
export function savedRoomInfo(s: SavedRoom): Room {
  return {
    id: s.roomId,
    title: s.title,
    namespace: s.namespace ?? 'anonymous',
    capacity: s.capacity ?? 0,
    createdAt: '',
    expiresAt: s.expiresAt,
    isPassword: s.isPassword ?? false,
    isExpired: false,
  };
}
