/** Comparing image names as Docker resolves them: `charon` is `charon:latest`, `docker.io/library/x` is `x`. */

export function isLiteral(value: string): boolean {
  return !value.includes('$') && value.trim() !== '';
}

export function normalizeImage(ref: string): string {
  let name = ref.trim().replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '').replace(/^library\//, '');
  const lastSlash = name.lastIndexOf('/');
  if (!name.includes('@') && !name.slice(lastSlash + 1).includes(':')) name = `${name}:latest`;
  return name;
}

/** The repository's last path component: `ghcr.io/acme/charon:sha` -> `charon`. */
export function repositoryName(ref: string): string {
  const withoutDigest = ref.trim().replace(/@.*$/, '');
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  return repository.slice(repository.lastIndexOf('/') + 1);
}
