/** The token of an `Authorization: Bearer <token>` header; null for any other header (or none). */
export function bearerToken(header: string | undefined): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? null;
}
