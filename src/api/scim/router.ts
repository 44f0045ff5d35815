import { Router } from 'express';
import type { ApiDeps } from '../deps';

/** SCIM 2.0 service provider (placeholder until the SCIM server lands). */
export function createScimRouter(_deps: ApiDeps): Router {
  return Router();
}
