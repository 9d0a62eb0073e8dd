import { z } from 'zod';

const SITE_ID = 'a site id must be a positive whole number or a string of digits';
const API_ID = 'the API id must be a number or a string of digits';

/** A site id: a positive whole number, or a string of digits (Imperva's ids are numeric). */
export const siteIdSchema = z.union(
  [
    z
      .number({ error: SITE_ID })
      .int({ error: SITE_ID })
      .positive({ error: SITE_ID })
      .max(Number.MAX_SAFE_INTEGER, { error: SITE_ID }),
    z.string({ error: SITE_ID }).regex(/^[1-9]\d*$/, { error: SITE_ID }),
  ],
  { error: SITE_ID },
);

/** The config file as written by the operator. Unknown fields are errors: a typo must not pass silently. */
export const configFileSchema = z.strictObject({
  api: z
    .strictObject({
      id: z.union(
        [
          z.string().regex(/^\d+$/, { error: API_ID }),
          z.number().int({ error: API_ID }).nonnegative({ error: API_ID }),
        ],
        {
          error: API_ID,
        },
      ),
      key: z
        .string({ error: 'the API key must be a string' })
        .min(1, { error: 'the API key must not be empty' }),
      baseUrl: z
        .string({ error: 'the base URL must be a string' })
        .min(1, { error: 'the base URL must not be empty' }),
    })
    .partial()
    .optional(),
  sites: z.record(
    z.string(),
    z.union(
      [siteIdSchema, z.array(siteIdSchema).min(1, { error: 'the list of site ids must not be empty' })],
      {
        error: `${SITE_ID}, or a list of them`,
      },
    ),
    { error: 'sites must be an object mapping domain names to site ids' },
  ),
  stateDir: z
    .string({ error: 'must be a folder path' })
    .min(1, { error: 'must be a folder path' })
    .optional(),
  logFile: z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).optional(),
  liveDir: z.string({ error: 'must be a folder path' }).min(1, { error: 'must be a folder path' }).optional(),
  attempts: z
    .number({ error: 'must be a whole number from 1 to 10' })
    .int({ error: 'must be a whole number from 1 to 10' })
    .min(1, { error: 'must be a whole number from 1 to 10' })
    .max(10, { error: 'must be a whole number from 1 to 10' })
    .optional(),
  timeoutSeconds: seconds(0.1, 600).optional(),
  deadlineSeconds: seconds(1, 86_400).optional(),
  retryDelaySeconds: seconds(0, 600).optional(),
  onFailure: z
    .array(
      z.string({ error: 'must be a list of strings' }).min(1, { error: 'must not hold an empty string' }),
      {
        error:
          'must be a command as a list of strings, e.g. ["/usr/bin/mail", "-s", "incap-cert failed", "ops@example.com"]',
      },
    )
    .min(1, { error: 'must name a command' })
    .optional(),
});

function seconds(min: number, max: number) {
  const message = `must be a number of seconds from ${min} to ${max}`;
  return z.number({ error: message }).min(min, { error: message }).max(max, { error: message });
}

export type ConfigFile = z.infer<typeof configFileSchema>;
