import { z } from 'zod';

/** A site id: a positive whole number, or a string of digits (Imperva's ids are numeric). */
const siteId = z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9]\d*$/)], {
  error: 'a site id must be a positive whole number or a string of digits',
});

/** The config file as written by the operator. Unknown fields are errors: a typo must not pass silently. */
export const configFileSchema = z.strictObject({
  api: z
    .strictObject({
      id: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()], {
        error: 'the API id must be a number or a string of digits',
      }),
      key: z.string().min(1, { error: 'the API key must not be empty' }),
      baseUrl: z.string().min(1),
    })
    .partial()
    .optional(),
  sites: z.record(
    z.string().min(1, { error: 'a domain name must not be empty' }),
    z.union([siteId, z.array(siteId).min(1, { error: 'the list of site ids must not be empty' })]),
    { error: 'sites must be an object mapping domain names to site ids' },
  ),
  stateDir: z.string().min(1).optional(),
  logFile: z.string().min(1).optional(),
  liveDir: z.string().min(1).optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
