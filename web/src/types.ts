// Wire types of the Cola Chat API (see docs/protocol.md).

export interface Envelope<T> {
  success: boolean;
  message: string;
  data: T;
  code?: string;
  ticket?: string;
}

export interface Room {
  id: string;
  title: string;
  namespace: string;
  capacity: number;
  createdAt: string;
  expiresAt: string;
  isPassword: boolean;
  isExpired: boolean;
  roomChatters?: Array<{ isActive?: boolean }>;
  /** How many chatters are online now (room detail; what the capacity counts). */
  online?: number;
}

export interface Chatter {
  id: string;
  nickname: string;
  createdAt?: string;
  isActive?: boolean;
}

/** The joinRoom ack's data: the Chatter plus its secret (strict identity). */
export interface JoinedChatter extends Chatter {
  token?: string;
}

export type AlertKind = 'join' | 'leave' | 'rename' | 'expire';

export interface Alert {
  kind: AlertKind;
  nickname: string;
  newNickname?: string;
}

export interface Message {
  id: number;
  /** The message's position in its room: 1, 2, 3, … without gaps (servers that have it). */
  seq?: number;
  type: 'MESSAGE' | 'ALERT';
  content: string;
  sentAt: string;
  roomId: string;
  chatterId: string | null;
  chatter?: Chatter | null;
  alert?: Alert | null;
}

export interface Identity {
  chatterId: string;
  token: string;
}
