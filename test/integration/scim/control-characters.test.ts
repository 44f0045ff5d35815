import { createHarness, ERROR, type Harness } from './harness';

/**
 * Control characters in a filter or a PATCH path are refused before the filter parser sees them: its quoted-string
 * pattern backtracks exponentially on an unclosed quote followed by line breaks, so one request with ~40 of them
 * would block the api for hours. 20 here keep the test quick even without the guard; the answer names the cause.
 */
let h: Harness;
let userId: string;
let groupId: string;
beforeAll(async () => {
  h = await createHarness();
  userId = await h.scim.createUser('ctrl@contoso.com');
  groupId = await h.scim.createGroup('Ctrl Team');
});
afterAll(async () => h.testDb.drop());

const UNCLOSED_WITH_LINE_BREAKS = '"' + '\n'.repeat(20);

it('refuses a filter with line breaks after an unclosed quote: 400 invalidFilter naming control characters', async () => {
  for (const resource of ['Users', 'Groups']) {
    const attr = resource === 'Users' ? 'userName' : 'displayName';
    const res = await h.scim.get(
      `/${resource}?filter=${encodeURIComponent(`${attr} eq ${UNCLOSED_WITH_LINE_BREAKS}`)}`,
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidFilter' });
    expect(res.body.detail).toMatch(/control characters/);
  }
});

it('refuses such a value filter in a user PATCH path and a group member path: 400 invalidPath', async () => {
  const user = await h.scim.ops(`/Users/${userId}`, [
    { op: 'replace', path: `emails[type eq ${UNCLOSED_WITH_LINE_BREAKS}].value`, value: 'x@contoso.com' },
  ]);
  const group = await h.scim.ops(`/Groups/${groupId}`, [
    { op: 'remove', path: `members[value eq ${UNCLOSED_WITH_LINE_BREAKS}]` },
  ]);
  for (const res of [user, group]) {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], scimType: 'invalidPath' });
    expect(res.body.detail).toMatch(/control characters/);
  }
});
