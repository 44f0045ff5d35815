/** The invitation email: plain text and simple HTML, from the employee's and tenant's names and the sign-in link. */
export interface InvitationEmail {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Names come from SCIM and may hold line breaks or other control characters; a subject or greeting must not. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

export function composeInvitation(input: {
  tenantName: string;
  /** The name to greet (the mailer passes the first non-blank of given, display and formatted name); none: "Hello,". */
  employeeName: string | null;
  signInUrl: string;
}): InvitationEmail {
  const tenant = oneLine(input.tenantName) || 'your company';
  const name = input.employeeName ? oneLine(input.employeeName) : '';
  const greeting = name ? `Hello ${name},` : 'Hello,';
  const subject = `You're invited to ${tenant}`;
  const text = [
    greeting,
    '',
    `You're invited to ${tenant}. Sign in with your work account to get started:`,
    '',
    input.signInUrl,
    '',
    "If you weren't expecting this invitation, you can ignore this email.",
    '',
  ].join('\n');
  const url = escapeHtml(input.signInUrl);
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>You're invited to <strong>${escapeHtml(tenant)}</strong>. Sign in with your work account to get started:</p>`,
    `<p><a href="${url}">Sign in to ${escapeHtml(tenant)}</a></p>`,
    `<p style="color: #555">Or copy this link into your browser: ${url}</p>`,
    '<p style="color: #555">If you weren\'t expecting this invitation, you can ignore this email.</p>',
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
}
