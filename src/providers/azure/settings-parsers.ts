/** Parsers of the Azure plugin's own settings. Pure. */
import { httpUrl, type ParseResult } from '../../core/config/config-parsers.js';

/** An https URL: the Azure SDKs refuse to send a bearer token over plain http. */
export function httpsUrl(raw: string): ParseResult<string> {
  const result = httpUrl(raw);
  if (!result.ok) return result;
  return raw.toLowerCase().startsWith('https://') ? result : { ok: false, detail: 'ARM needs https' };
}

/** A GUID (an Azure client id), lower-cased. */
export function guid(raw: string): ParseResult<string> {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(raw) ? { ok: true, value: raw.toLowerCase() } : { ok: false };
}
