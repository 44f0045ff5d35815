import request from 'supertest';
import { createCustomAttributeDefinition } from '../../../src/db/custom-attributes';
import { CORE, createHarness, ENTERPRISE, GROUP, PRODUCT, type Harness, type ScimClient } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.testDb.drop());

describe('discovery', () => {
  it('advertises what the server supports at /ServiceProviderConfig', async () => {
    const res = await h.scim.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      sort: { supported: true },
      etag: { supported: false },
      changePassword: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
  });

  it('points /ServiceProviderConfig at no documentation URL that the api answers with 404', async () => {
    const { documentationUri } = (await h.scim.get('/ServiceProviderConfig')).body as { documentationUri?: string };
    if (documentationUri === undefined) return;
    const url = new URL(documentationUri);
    // On the api's own host (http://scim.test in tests) the path must be one the api serves.
    if (url.host === 'scim.test') expect((await request(h.app).get(url.pathname)).status).toBe(200);
  });

  it('lists User (with the enterprise extension) and Group at /ResourceTypes', async () => {
    const res = await h.scim.get('/ResourceTypes');
    expect(res.body.totalResults).toBe(2);
    const user = res.body.Resources.find((r: { id: string }) => r.id === 'User');
    expect(user).toMatchObject({ endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' });
    expect(user.schemaExtensions).toContainEqual({ schema: ENTERPRISE, required: false });
    expect((await h.scim.get('/ResourceTypes/Group')).body).toMatchObject({ id: 'Group', endpoint: '/Groups' });
  });

  it('publishes schemas as a ListResponse with RFC attribute characteristics and no nulls', async () => {
    const res = await h.scim.get('/Schemas');
    expect(res.status).toBe(200);
    const ids = res.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:scim:schemas:core:2.0:User',
        ENTERPRISE,
        'urn:ietf:params:scim:schemas:core:2.0:Group',
      ]),
    );
    const user = res.body.Resources.find((s: { id: string }) => s.id === 'urn:ietf:params:scim:schemas:core:2.0:User');
    expect(user.attributes.find((a: { name: string }) => a.name === 'userName')).toMatchObject({
      type: 'string',
      multiValued: false,
      required: true,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'server',
    });
    expect(JSON.stringify(res.body)).not.toContain('null');
  });

  it("lists each tenant's own custom attributes in the enterprise schema", async () => {
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'tshirt',
      name: 'T-shirt size',
      type: 'string',
    });
    const other = await h.newTenant('Other schemas');
    const ent = (await h.scim.get(`/Schemas/${ENTERPRISE}`)).body;
    expect(ent.attributes.map((a: { name: string }) => a.name)).toEqual(
      expect.arrayContaining([
        'employeeNumber',
        'costCenter',
        'organization',
        'division',
        'department',
        'manager',
        'tshirt',
      ]),
    );
    const otherEnt = (await other.get(`/Schemas/${ENTERPRISE}`)).body;
    expect(otherEnt.attributes.map((a: { name: string }) => a.name)).not.toContain('tshirt');
  });
});

describe('custom attributes', () => {
  it('stores a custom attribute sent by PATCH path and by POST nested object, type-checked', async () => {
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'startYear',
      name: 'Start year',
      type: 'number',
    });
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, { id: 'isRemote', name: 'Remote', type: 'boolean' });
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, {
      id: 'anniversary',
      name: 'Anniversary',
      type: 'date',
    });
    const id = await h.scim.createUser('custom@contoso.com', { [ENTERPRISE]: { startYear: '2019', isRemote: 'True' } });
    const res = await h.scim.ops(`/Users/${id}`, [
      { op: 'Add', path: `${ENTERPRISE}:anniversary`, value: '2024-03-01' },
      { op: 'Replace', path: `${ENTERPRISE}:isRemote`, value: 'False' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE]).toMatchObject({ startYear: 2019, isRemote: false, anniversary: '2024-03-01' });
    expect((await h.db('employees').where({ id }).first()).custom_attributes).toEqual({
      startYear: 2019,
      isRemote: false,
      anniversary: '2024-03-01',
    });
    const outbox = await h.db('outbox').where({ employee_id: id }).orderBy('id', 'desc').first();
    expect([...outbox.changed_attributes].sort()).toEqual([
      'customAttributes.anniversary',
      'customAttributes.isRemote',
    ]);
  });

  it('shows no value of another type left from a deleted definition that was made again with a new type', async () => {
    const t = await h.newTenant('Redefined attributes');
    await createCustomAttributeDefinition(h.db, t.tenantId, { id: 'shirtSize', name: 'Shirt', type: 'number' });
    await createCustomAttributeDefinition(h.db, t.tenantId, { id: 'badge', name: 'Badge', type: 'string' });
    const id = await t.createUser('redefined@contoso.com', { [ENTERPRISE]: { badge: 'B-7' } });
    // What an earlier definition "shirtSize" (string) left on the employee before it was deleted and defined again.
    await h
      .db('employees')
      .where({ id })
      .update({ custom_attributes: { shirtSize: 'L', badge: 'B-7' } });
    const res = await t.get(`/Users/${id}`);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE]).toEqual({ badge: 'B-7' });
  });

  it('accepts a definition created a moment ago (the cached set is refreshed on a miss)', async () => {
    const id = await h.scim.createUser('fresh.def@contoso.com');
    await h.scim.get('/Users?count=1');
    await createCustomAttributeDefinition(h.db, h.scim.tenantId, { id: 'brandNew', name: 'New', type: 'string' });
    const res = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:brandNew`, value: 'yes' }]);
    expect(res.status).toBe(200);
    expect(res.body[ENTERPRISE].brandNew).toBe('yes');
  });

  it('rejects an unknown id with 400 naming it, and a wrong type with 400 naming it', async () => {
    const id = await h.scim.createUser('custom.bad@contoso.com');
    const unknown = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:ghost`, value: 'x' }]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toContain('ghost');
    const post = await h.scim.post('/Users', { userName: 'custom.bad2@contoso.com', [ENTERPRISE]: { ghost: 'x' } });
    expect(post.status).toBe(400);
    expect(post.body.detail).toContain('ghost');
    const wrong = await h.scim.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:startYear`, value: 'soon' }]);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ scimType: 'invalidValue' });
    expect(wrong.body.detail).toContain('startYear');
  });

  it("does not accept another tenant's custom attribute id", async () => {
    const other = await h.newTenant('Other custom');
    const id = await other.createUser('other.custom@globex.com');
    const res = await other.ops(`/Users/${id}`, [{ op: 'Add', path: `${ENTERPRISE}:tshirt`, value: 'L' }]);
    expect(res.status).toBe(400);
  });

  it('filters by a custom attribute', async () => {
    const id = await h.scim.createUser('filter.custom@contoso.com', { [ENTERPRISE]: { startYear: 2001 } });
    const res = await h.scim.get(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:startYear lt 2010`)}`);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
  });
});

/**
 * /Schemas is what Microsoft's SCIM validator and gallery onboarding read, so it must say exactly what the server
 * takes and gives back. These tests derive their requests from the published schemas instead of keeping a list of
 * their own: an attribute the server accepts but /Schemas does not list, one listed but refused or not returned, or
 * one listed with the wrong characteristics fails here.
 */
describe('published schemas match what the server accepts and returns', () => {
  interface Attribute {
    name: string;
    type: string;
    multiValued: boolean;
    description: string;
    required: boolean;
    mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
    returned: 'always' | 'never' | 'default' | 'request';
    uniqueness: 'none' | 'server' | 'global';
    canonicalValues?: string[];
    referenceTypes?: string[];
    subAttributes?: Attribute[];
  }
  interface Schema {
    id: string;
    attributes: Attribute[];
  }
  /** An attribute of a published schema, or one sub-attribute of a complex one. */
  interface Leaf {
    schema: string;
    attribute: Attribute;
    sub?: Attribute;
  }
  type Variant = 'post' | 'patch';
  type Body = Record<string, unknown>;

  let client: ScimClient;
  /** Users a reference (manager, member) can point at, one per variant so that a PATCH really changes it. */
  const referenced: Record<Variant, string> = { post: '', patch: '' };
  let created = 0;
  const nextUserName = () => `schema.${++created}@roundtrip.test`;
  const nextGroupName = () => `Schema ${++created}`;

  beforeAll(async () => {
    client = await h.newTenant('Schema round trips');
    for (const [id, type] of [
      ['favouriteTeam', 'string'],
      ['fte', 'number'],
      ['onCall', 'boolean'],
      ['probationEnd', 'date'],
    ] as const) {
      await createCustomAttributeDefinition(h.db, client.tenantId, { id, name: id, type });
    }
    referenced.post = await client.createUser('referenced.post@roundtrip.test');
    referenced.patch = await client.createUser('referenced.patch@roundtrip.test');
  });

  const schemaById = async (id: string, c = client): Promise<Schema> => {
    const res = await c.get(`/Schemas/${id}`);
    expect(res.status).toBe(200);
    return res.body as Schema;
  };
  const userSchemas = async (c = client) => Promise.all([CORE, ENTERPRISE, PRODUCT].map((id) => schemaById(id, c)));
  const allSchemas = async (c = client) => [...(await userSchemas(c)), await schemaById(GROUP, c)];

  const writable = (a: Attribute) => a.mutability !== 'readOnly';
  /** RFC 7643 §7: an immutable attribute is set when the resource is created, never updated. */
  const updatable = (a: Attribute) => writable(a) && a.mutability !== 'immutable';
  const returned = (a: Attribute) => a.returned !== 'never';
  const isCore = (schema: string) => schema === CORE || schema === GROUP;
  const endpointOf = (schema: string) => (schema === GROUP ? '/Groups' : '/Users');

  /** The attribute itself if it is simple, else each of its sub-attributes. */
  const leavesOf = (schema: string, attribute: Attribute): Leaf[] =>
    attribute.type === 'complex'
      ? (attribute.subAttributes ?? []).map((sub) => ({ schema, attribute, sub }))
      : [{ schema, attribute }];
  /** A sub-attribute can be written only if its attribute can be, too. */
  const leafIs = (is: (a: Attribute) => boolean) => (leaf: Leaf) =>
    is(leaf.attribute) && is(leaf.sub ?? leaf.attribute);

  /** The sub-attribute `type` of a multi-valued attribute; value paths filter on its first canonical value. */
  const typeOf = (attribute: Attribute) => attribute.subAttributes?.find((s) => s.name === 'type');

  /**
   * A value the published definition says is valid. What the SCIM types cannot express is read from the description
   * (dates say "YYYY-MM-DD"); a `value` next to a `$ref` to Users names a user that exists.
   */
  function sampleFor(leaf: Leaf, variant: Variant): unknown {
    const def = leaf.sub ?? leaf.attribute;
    const label = `${variant}-${leaf.attribute.name}${leaf.sub ? `.${leaf.sub.name}` : ''}`;
    const refersToUsers = leaf.attribute.subAttributes?.some(
      (s) => s.name === '$ref' && s.referenceTypes?.includes('User'),
    );
    if (def.name === 'value' && refersToUsers) return referenced[variant];
    if (def.canonicalValues?.length) return def.canonicalValues[0];
    switch (def.type) {
      case 'boolean':
        return true;
      case 'decimal':
        return variant === 'post' ? 42.5 : 43.25;
      case 'integer':
        return variant === 'post' ? 42 : 43;
      case 'binary':
        return Buffer.from(label).toString('base64');
      case 'reference':
        return `https://cdn.example.com/${label}.png`;
      default:
        if (/YYYY-MM-DD/.test(def.description)) return variant === 'post' ? '2024-03-01' : '2025-04-02';
        return label;
    }
  }

  /** What a request sends for a leaf: its sample, in an array for a multi-valued simple attribute. */
  const sendFor = (leaf: Leaf, variant: Variant): unknown =>
    !leaf.sub && leaf.attribute.multiValued ? [sampleFor(leaf, variant)] : sampleFor(leaf, variant);

  /** A request value for a whole attribute: every writable sub-attribute filled in, one element if multi-valued. */
  function valueFor(schema: string, attribute: Attribute, variant: Variant): unknown {
    if (attribute.type !== 'complex') return sendFor({ schema, attribute }, variant);
    const element = Object.fromEntries(
      leavesOf(schema, attribute)
        .filter(leafIs(writable))
        .map((leaf) => [leaf.sub!.name, sampleFor(leaf, variant)]),
    );
    return attribute.multiValued ? [element] : element;
  }

  /** A POST body with `attributes` of `schema` and whatever else the resource needs (a fresh userName/displayName). */
  function bodyFor(schema: string, attributes: Attribute[], variant: Variant): Body {
    const values = Object.fromEntries(attributes.map((a) => [a.name, valueFor(schema, a, variant)]));
    if (schema === GROUP) return { schemas: [GROUP], displayName: nextGroupName(), ...values };
    const user: Body = { schemas: [CORE, ENTERPRISE, PRODUCT], userName: nextUserName() };
    return schema === CORE ? { ...user, ...values } : { ...user, [schema]: values };
  }

  /** The object a schema's attributes live in: the resource itself for a core schema, else its URN key. */
  const container = (resource: Body, schema: string): Body | undefined =>
    isCore(schema) ? resource : (resource[schema] as Body | undefined);

  /** What a resource holds for a leaf; of a multi-valued attribute, the element of the sampled type. */
  function readLeaf(resource: Body, leaf: Leaf): unknown {
    const value = container(resource, leaf.schema)?.[leaf.attribute.name];
    if (!leaf.sub) return value;
    const type = typeOf(leaf.attribute);
    const element = Array.isArray(value)
      ? (value as Body[]).find((e) => !type || e.type === sampleFor({ ...leaf, sub: type }, 'post'))
      : (value as Body | undefined);
    return element?.[leaf.sub.name];
  }

  /** `emails[type eq "work"].value`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value`. */
  function pathOf(leaf: Leaf): string {
    const prefix = isCore(leaf.schema) ? '' : `${leaf.schema}:`;
    if (!leaf.sub) return `${prefix}${leaf.attribute.name}`;
    const type = typeOf(leaf.attribute);
    const filter =
      leaf.attribute.multiValued && type ? `[type eq "${String(sampleFor({ ...leaf, sub: type }, 'post'))}"]` : '';
    return `${prefix}${leaf.attribute.name}${filter}.${leaf.sub.name}`;
  }

  /** Why a leaf did not round-trip, if it did not: returned ones read back as sent, writeOnly ones are not returned. */
  function roundTripFailure(resource: Body, leaf: Leaf, variant: Variant): string | undefined {
    const sent = sendFor(leaf, variant);
    const got = readLeaf(resource, leaf);
    if (returned(leaf.attribute) && returned(leaf.sub ?? leaf.attribute)) {
      if (JSON.stringify(got) === JSON.stringify(sent)) return undefined;
      return `${variant} ${pathOf(leaf)}: sent ${JSON.stringify(sent)}, got ${JSON.stringify(got)}`;
    }
    return got === undefined
      ? undefined
      : `${variant} ${pathOf(leaf)}: published as never returned, got ${JSON.stringify(got)}`;
  }

  /** An attribute POSTed with its writable sub-attributes and read back, then each updatable one PATCHed and read. */
  async function roundTripFailures(schema: string, attribute: Attribute): Promise<string[]> {
    const posted = await client.post(endpointOf(schema), bodyFor(schema, [attribute], 'post'));
    if (posted.status !== 201) return [`POST ${attribute.name}: ${posted.status} ${JSON.stringify(posted.body)}`];
    const location = `${endpointOf(schema)}/${posted.body.id}`;
    const read = (await client.get(location)).body as Body;
    const failures = leavesOf(schema, attribute)
      .filter(leafIs(writable))
      .flatMap((leaf) => roundTripFailure(posted.body, leaf, 'post') ?? roundTripFailure(read, leaf, 'post') ?? []);
    for (const leaf of leavesOf(schema, attribute).filter(leafIs(updatable))) {
      const res = await client.ops(location, [{ op: 'replace', path: pathOf(leaf), value: sendFor(leaf, 'patch') }]);
      if (res.status !== 200 && res.status !== 204) {
        failures.push(`PATCH ${pathOf(leaf)}: ${res.status} ${JSON.stringify(res.body)}`);
        continue;
      }
      // Group PATCH answers 204 without a body, as Entra expects.
      const after = res.status === 204 ? ((await client.get(location)).body as Body) : (res.body as Body);
      const failure = roundTripFailure(after, leaf, 'patch');
      if (failure) failures.push(failure);
    }
    return failures;
  }

  it('round-trips every writable attribute and sub-attribute it publishes, by POST and by PATCH', async () => {
    const failures: string[] = [];
    for (const schema of await allSchemas()) {
      // A resource per attribute: two attributes can share a column (addresses.locality and location).
      for (const attribute of schema.attributes.filter(writable))
        failures.push(...(await roundTripFailures(schema.id, attribute)));
    }
    expect(failures).toEqual([]);
  });

  /** The read-only attributes of a schema, and the read-only sub-attributes of its writable ones. */
  const readOnlyLeaves = (schema: Schema): Leaf[] =>
    schema.attributes.flatMap((attribute) =>
      writable(attribute)
        ? leavesOf(schema.id, attribute).filter((leaf) => leaf.sub && !writable(leaf.sub))
        : [{ schema: schema.id, attribute }],
    );

  /** A POST body for the leaf's attribute with `forged` at the leaf; a member, say, still gets its writable value. */
  function bodyForging(leaf: Leaf, forged: string): Body {
    const body = bodyFor(leaf.schema, [leaf.attribute], 'post');
    const target = container(body, leaf.schema)!;
    const name = leaf.attribute.name;
    if (!leaf.sub) target[name] = leaf.attribute.type === 'complex' ? [{ value: forged }] : forged;
    else {
      const value = target[name];
      (Array.isArray(value) ? (value as Body[])[0] : (value as Body))[leaf.sub.name] = forged;
    }
    return body;
  }

  it('takes no read-only attribute or sub-attribute from a request body', async () => {
    const failures: string[] = [];
    for (const schema of await allSchemas()) {
      for (const leaf of readOnlyLeaves(schema)) {
        const forged = `https://forged.example.com/${leaf.attribute.name}/${leaf.sub?.name ?? ''}`;
        const res = await client.post(endpointOf(schema.id), bodyForging(leaf, forged));
        if (res.status !== 201) failures.push(`POST with ${pathOf(leaf)}: ${res.status} ${JSON.stringify(res.body)}`);
        else if (JSON.stringify(container(res.body, schema.id)?.[leaf.attribute.name] ?? '').includes(forged))
          failures.push(`${pathOf(leaf)} is published read-only but took the value sent`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('publishes uniqueness "server" for exactly the attributes whose duplicates it refuses', async () => {
    // A tenant of its own: the values are those of the round trips, and uniqueness is per tenant.
    const fresh = await h.newTenant('Schema uniqueness');
    const failures: string[] = [];
    for (const schema of await allSchemas(fresh)) {
      for (const attribute of schema.attributes.filter((a) => writable(a) && a.type !== 'complex')) {
        const post = () => fresh.post(endpointOf(schema.id), bodyFor(schema.id, [attribute], 'post'));
        const [first, second] = [await post(), await post()];
        if (first.status !== 201 || (second.status === 409) !== (attribute.uniqueness === 'server'))
          failures.push(
            `${attribute.name}: published ${attribute.uniqueness}, answered ${first.status}, ${second.status}`,
          );
      }
    }
    expect(failures).toEqual([]);
  });

  it('requires exactly the attributes it publishes as required', async () => {
    for (const schema of [CORE, GROUP]) {
      const required = (await schemaById(schema)).attributes.filter((a) => a.required);
      // The required attributes (userName, a group's displayName) are unique names: each request gets new ones.
      const body = (without?: Attribute): Body => ({
        schemas: [schema],
        ...Object.fromEntries(
          required
            .filter((a) => a !== without)
            .map((a) => [a.name, schema === GROUP ? nextGroupName() : nextUserName()]),
        ),
      });
      expect((await client.post(endpointOf(schema), body())).status).toBe(201);
      for (const attribute of required)
        expect((await client.post(endpointOf(schema), body(attribute))).status).toBe(400);
    }
  });

  /** Every attribute and sub-attribute RFC 7643 §3.1, §4.1 and §4.3 define for a User, as paths. */
  const RFC_7643_USER_PATHS = [
    ...['id', 'externalId', 'userName', 'displayName', 'nickName', 'profileUrl', 'title', 'userType'],
    ...['preferredLanguage', 'locale', 'timezone', 'active', 'password', 'groups'],
    ...['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map(
      (s) => `name.${s}`,
    ),
    ...['emails', 'phoneNumbers', 'ims', 'photos', 'entitlements', 'roles', 'x509Certificates'].flatMap((a) =>
      ['value', 'display', 'type', 'primary'].map((s) => `${a}.${s}`),
    ),
    ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary'].map(
      (s) => `addresses.${s}`,
    ),
    ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((a) => `${ENTERPRISE}:${a}`),
    ...['value', '$ref', 'displayName'].map((s) => `${ENTERPRISE}:manager.${s}`),
  ];
  /** Names no schema has, which the server must refuse. */
  const NOT_ATTRIBUTES = ['favouriteColour', 'emails.verified', 'addresses.floor', 'name.nickName', `${PRODUCT}:title`];

  function publishedPaths(schema: Schema): string[] {
    const prefix = isCore(schema.id) ? '' : `${schema.id}:`;
    return schema.attributes.flatMap((a) => [
      `${prefix}${a.name}`,
      // A path under a read-only attribute is refused with `mutability` whatever it names, so it tells nothing.
      ...(writable(a) ? (a.subAttributes ?? []).map((s) => `${prefix}${a.name}.${s.name}`) : []),
    ]);
  }

  /** The paths the server knows: a `remove` of them is answered with anything but 400 invalidPath. */
  async function knownPaths(resource: string, candidates: string[]): Promise<string[]> {
    const known: string[] = [];
    for (const path of candidates) {
      const res = await client.ops(resource, [{ op: 'remove', path }]);
      if (!(res.status === 400 && res.body.scimType === 'invalidPath')) known.push(path);
    }
    return known.sort();
  }

  it('publishes exactly the User attributes it accepts, RFC 7643 ones included', async () => {
    const published = (await userSchemas()).flatMap(publishedPaths);
    const candidates = [...new Set([...published, ...RFC_7643_USER_PATHS, ...NOT_ATTRIBUTES])];
    const id = await client.createUser(nextUserName());
    expect(await knownPaths(`/Users/${id}`, candidates)).toEqual(published.sort());
  });

  it('publishes exactly the Group attributes it accepts', async () => {
    // Group PATCH paths name whole attributes only: members are added and removed by value.
    const published = (await schemaById(GROUP)).attributes.map((a) => a.name);
    const candidates = [...new Set([...published, 'displayName', 'members', 'externalId', 'id', 'owners'])];
    const id = await client.createGroup(nextGroupName());
    expect(await knownPaths(`/Groups/${id}`, candidates)).toEqual(published.sort());
  });

  const JSON_TYPE: Record<string, string> = {
    string: 'string',
    reference: 'string',
    binary: 'string',
    dateTime: 'string',
    boolean: 'boolean',
    decimal: 'number',
    integer: 'number',
    complex: 'object',
  };

  /** Where returned values disagree with their published definitions (name, returned, multiValued, type). */
  function shapeMismatches(value: Body, attributes: Attribute[], at: string): string[] {
    return Object.entries(value).flatMap(([key, v]) => {
      const def = attributes.find((a) => a.name === key);
      if (!def) return [`${at}${key}: returned but not published`];
      if (!returned(def)) return [`${at}${key}: returned but published as never returned`];
      if (def.multiValued !== Array.isArray(v)) return [`${at}${key}: published with multiValued ${def.multiValued}`];
      return (def.multiValued ? (v as unknown[]) : [v]).flatMap((element) => {
        if (typeof element !== JSON_TYPE[def.type])
          return [`${at}${key}: published as ${def.type}, got ${JSON.stringify(element)}`];
        return def.type === 'complex' ? shapeMismatches(element as Body, def.subAttributes ?? [], `${at}${key}.`) : [];
      });
    });
  }

  /** shapeMismatches over a whole resource: core attributes at the top, extension attributes under their URN. */
  function resourceMismatches(resource: Body, [core, ...extensions]: Schema[]): string[] {
    const { schemas: _schemas, meta: _meta, ...attributes } = resource;
    const coreOnly = Object.fromEntries(Object.entries(attributes).filter(([k]) => !k.startsWith('urn:')));
    const byExtension = Object.keys(attributes)
      .filter((k) => k.startsWith('urn:'))
      .flatMap((urn) => {
        const ext = extensions.find((s) => s.id === urn);
        return ext ? shapeMismatches(attributes[urn] as Body, ext.attributes, `${urn}:`) : [`${urn}: not published`];
      });
    return [...shapeMismatches(coreOnly, core.attributes, ''), ...byExtension];
  }

  it('publishes every attribute it returns, with the type and multiValued it is returned with', async () => {
    const schemas = await userSchemas();
    const everything = schemas.reduce<Body>(
      (body, s) => ({ ...body, ...bodyFor(s.id, s.attributes.filter(writable), 'post') }),
      {},
    );
    const user = await client.post('/Users', { ...everything, userName: nextUserName() });
    expect(user.status).toBe(201);
    const groupId = await client.createGroup(nextGroupName(), { members: [{ value: user.body.id }] });
    const read = await client.get(`/Users/${user.body.id}`);
    expect(read.body.groups).toHaveLength(1);
    expect(read.body[ENTERPRISE].manager).toBeDefined();
    expect(resourceMismatches(read.body, schemas)).toEqual([]);

    const group = await client.get(`/Groups/${groupId}`);
    expect(group.body.members).toHaveLength(1);
    expect(resourceMismatches(group.body, [await schemaById(GROUP)])).toEqual([]);
  });

  it('describes photos as external references and dates by their format (RFC 7643 §4.1.2, §2.3.5)', async () => {
    const [core, , product] = await userSchemas();
    const photos = core.attributes.find((a) => a.name === 'photos');
    expect(photos?.subAttributes?.find((s) => s.name === 'value')).toMatchObject({
      type: 'reference',
      referenceTypes: ['external'],
    });
    for (const name of ['startDate', 'endDate', 'birthday'])
      expect(product.attributes.find((a) => a.name === name)?.description).toContain('YYYY-MM-DD');
  });
});
