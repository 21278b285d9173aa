// Headers that must not reach members: moderator passwords, and requests for receipts from every member.
import { editHeaders, type Handler } from '../types.js';

const DROPPED = ['approved', 'approve', 'x-approved', 'x-approve', 'return-receipt-to', 'disposition-notification-to', 'x-confirm-reading-to', 'x-pmrqc'];

export const cleanseHeaders: Handler = {
  name: 'cleanse',
  description: 'Removes Approved:/Approve: and the read-receipt requests (Return-Receipt-To, Disposition-Notification-To, X-Confirm-Reading-To); keeps the rest.',
  apply: (raw) =>
    editHeaders(raw, (h) => {
      for (const key of DROPPED) if (h.hasHeader(key)) h.remove(key);
    }),
};
