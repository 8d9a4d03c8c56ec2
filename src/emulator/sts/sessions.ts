/**
 * The temporary credentials STS has handed out. The emulator's SigV4 check takes them like any key
 * (index.ts looks them up after the configured credentials), but only with their own session token and
 * only until they expire: then ExpiredTokenException, as AWS answers.
 */
import { randomBytes } from 'node:crypto';
import type { SigV4Credential } from '../sigv4.js';

export interface Session {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly accountId: string;
  readonly roleArn: string;
  /** arn:aws:sts::<account>:assumed-role/<role>/<session>: who the credentials are. */
  readonly assumedRoleArn: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** ASIA + 16 characters: the shape of STS's temporary access key ids. */
const accessKeyId = (): string => `ASIA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join('')}`;

export class SessionRegistry {
  private sessions = new Map<string, Session>();

  issue(o: { accountId: string; roleArn: string; assumedRoleArn: string; expiresAt: number }): Session {
    const session: Session = {
      accessKeyId: accessKeyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(384).toString('base64'),
      ...o,
    };
    this.sessions.set(session.accessKeyId, session);
    return session;
  }

  /** The credential SigV4 checks a request of these temporary keys against. */
  credential(accessKeyId: string): SigV4Credential | undefined {
    const s = this.sessions.get(accessKeyId);
    if (s === undefined) return undefined;
    return {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      accountId: s.accountId,
      principalArn: s.assumedRoleArn,
      session: { token: s.sessionToken, expiresAt: s.expiresAt },
    };
  }

  reset(): void {
    this.sessions.clear();
  }
}
