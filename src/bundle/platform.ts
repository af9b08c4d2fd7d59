import { UsageError } from '../errors.ts';
import type { Platform } from './model.ts';

/** "linux/amd64", "linux/arm64/v8". */
export function platformName(platform: Platform | undefined): string {
  if (platform === undefined) return 'unknown';
  return `${platform.os}/${platform.architecture}${platform.variant === undefined ? '' : `/${platform.variant}`}`;
}

/** Reads os/arch[/variant], as --platform takes it. */
export function parsePlatform(value: string, what = '--platform'): Platform {
  const parts = value.trim().split('/');
  const [os, architecture, variant] = parts;
  const part = /^[a-z0-9_.-]+$/;
  if (parts.length < 2 || parts.length > 3 || !part.test(os ?? '') || !part.test(architecture ?? '') || (variant !== undefined && !part.test(variant))) {
    throw new UsageError(`Expected ${what} as os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8, found '${value}'.`, {
      hint: 'Leave it out to take the engine\'s own platform.',
    });
  }
  return { os: os!, architecture: architecture!, ...(variant === undefined ? {} : { variant }) };
}

/** The variant an architecture has when none is named (arm64 is v8). */
function variantOf(platform: Platform): string | undefined {
  return platform.variant ?? (platform.architecture === 'arm64' ? 'v8' : undefined);
}

/**
 * Whether an image of platform `offered` runs where `wanted` is asked for:
 * same os and architecture, and the same variant when one is asked for.
 */
export function platformMatches(offered: Platform | undefined, wanted: Platform): boolean {
  if (offered === undefined) return false;
  if (offered.os !== wanted.os || offered.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || variantOf(offered) === variantOf(wanted);
}
