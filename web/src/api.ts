// The REST half of the Cola Chat API. Every answer is an envelope; a failed one becomes an
// ApiError carrying the server's stable code, so screens can branch on it.

import type { Chatter, Envelope, Message, Room } from './types';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// Servers that predate `code` (the original backend) are told apart by their Korean texts.
const CODES_BY_MESSAGE: Record<string, string> = {
  '채팅방이 존재하지 않습니다.': 'ROOM_NOT_FOUND',
  '채팅이 만료되어 더 이상 사용할 수 없습니다.': 'ROOM_EXPIRED',
  '채팅방 인원수가 가득차서 입장할 수 없습니다.': 'ROOM_FULL',
  '채팅 참여자를 찾을 수 없습니다.': 'CHATTER_NOT_FOUND',
};

export function errorCode(env: { code?: string; message?: string } | null | undefined, status = 0): string {
  if (env?.code) return env.code;
  if (env?.message && CODES_BY_MESSAGE[env.message]) return CODES_BY_MESSAGE[env.message];
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'ROOM_NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  return 'INTERNAL';
}

interface RequestOptions {
  body?: unknown;
  token?: string;
  signal?: AbortSignal;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<Envelope<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError((err as Error).message || 'network error', 0, 'NETWORK');
  }
  let env: Envelope<T> | null = null;
  try {
    env = (await res.json()) as Envelope<T>;
  } catch {
    env = null;
  }
  if (!res.ok || !env || env.success !== true) {
    throw new ApiError(env?.message || `HTTP ${res.status}`, res.status, errorCode(env, res.status));
  }
  return env;
}

const enc = encodeURIComponent;

export interface CreateRoom {
  title: string;
  capacity: number;
  password?: string;
}

export async function createRoom(input: CreateRoom): Promise<Room> {
  const body: Record<string, unknown> = {
    namespace: 'anonymous',
    title: input.title,
    capacity: input.capacity,
    isPassword: Boolean(input.password),
  };
  if (input.password) body.password = input.password;
  return (await request<Room>('POST', '/chat/rooms', { body })).data;
}

/** This server's input limits; maxCapacity is the largest room it lets anyone create. */
export interface Limits {
  minCapacity: number;
  maxCapacity: number;
}

export async function getLimits(): Promise<Limits> {
  return (await request<Limits>('GET', '/chat/limits')).data;
}

export async function getRoom(roomId: string): Promise<Room> {
  return (await request<Room>('GET', `/chat/rooms/${enc(roomId)}`)).data;
}

export interface AccessResult {
  allowed: boolean;
  ticket?: string;
}

/** allowed is false for a wrong password (the server's "ask again" answer). */
export async function accessCheck(roomId: string, password?: string): Promise<AccessResult> {
  const env = await request<boolean | null>('POST', `/chat/rooms/${enc(roomId)}/access-check`, {
    body: password ? { password } : {},
  });
  return { allowed: Boolean(env.data), ticket: env.ticket };
}

export const PAGE_SIZE = 50;

export type Cursor = { before: number } | { after: number } | Record<string, never>;

/** A page of history through the cursor API, oldest first. */
export async function getMessages(
  roomId: string,
  chatterId: string,
  token: string,
  cursor: Cursor,
  limit = PAGE_SIZE,
): Promise<Message[]> {
  const q = new URLSearchParams();
  if ('before' in cursor) q.set('before', String(cursor.before));
  if ('after' in cursor) q.set('after', String(cursor.after));
  q.set('limit', String(limit));
  const env = await request<Message[] | null>('GET', `/chat/messages/${enc(roomId)}/1/${enc(chatterId)}?${q}`, {
    token,
  });
  return Array.isArray(env.data) ? env.data : [];
}

export async function renameChatter(chatterId: string, token: string, nickname: string): Promise<Chatter> {
  return (await request<Chatter>('PATCH', `/chat/chatters/${enc(chatterId)}/nickname`, { body: { nickname }, token }))
    .data;
}
