/**
 * @module Delivering a freshly recorded certificate (e.g. writing its files), withdrawing it if that fails.
 */
import type { Database } from '../store/database.js';
import { withdrawCertificate } from './certificate-store.js';

/**
 * Runs `publish` after the certificate's record was committed. Recording first means that a process
 * killed half-way leaves a listed (and revocable) certificate, never a valid one missing from the
 * inventory; when `publish` throws, the certificate was never released, so its record is withdrawn.
 * @throws whatever `publish` throws.
 */
export function deliver<T extends { serial: string }>(
  db: Database,
  issued: T,
  publish: ((issued: T) => void) | undefined,
): void {
  if (!publish) return;
  try {
    publish(issued);
  } catch (error) {
    withdrawCertificate(db, issued.serial);
    throw error;
  }
}
