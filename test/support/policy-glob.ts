/**
 * The sigstore policy-controller's image globs (ClusterImagePolicy spec.images[].glob), as its
 * pkg/apis/glob/glob.go does at v0.13.1 (unchanged at v0.15.1), so that a test can tell which
 * image references a policy covers:
 *
 * - a glob may only hold letters, digits, `-`, `_`, `:`, `/`, `*`, `.` and `@` (and, since the
 *   character class there reads `9-_`, everything between `9` and `_` in ASCII);
 * - `.` is literal, `**` matches anything (`/` included), `*` anything but `/`, and the glob must
 *   match the whole name; `*` alone means `index.docker.io/library/*`, `*` + `/` + `*` means
 *   `index.docker.io/` + `*` + `/` + `*`;
 * - the image is matched in the full form go-containerregistry's `ParseReference(...).Name()`
 *   gives (registry added, `:latest` when there is neither tag nor digest), and when that fails,
 *   as written.
 */

const VALID_GLOB = /^[a-zA-Z0-9-_:/*.@]+$/;

/** The glob as the regular expression the controller compiles it to; throws for a glob it refuses. */
export function compileGlob(glob: string): RegExp {
  if (glob === "*/*") glob = "index.docker.io/*/*";
  if (glob === "*") glob = "index.docker.io/library/*";
  if (!VALID_GLOB.test(glob)) throw new Error(`invalid glob "${glob}"`);
  const re = glob.replaceAll(".", "\\.").replaceAll("**", "#").replaceAll("*", "[^/]*").replaceAll("#", ".*");
  return new RegExp(`^${re}$`);
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * go-containerregistry's full name of a reference (its WeakValidation parse): `registry/repository`
 * with `:tag` or `@digest`, Docker Hub's defaults filled in. Throws for what it would not parse.
 */
export function referenceName(image: string): string {
  let rest = image;
  let suffix: string;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) throw new Error(`bad digest in "${image}"`);
    suffix = `@${digest}`;
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      const tag = rest.slice(colon + 1);
      if (!TAG.test(tag)) throw new Error(`bad tag in "${image}"`);
      suffix = `:${tag}`;
      rest = rest.slice(0, colon);
    } else suffix = ":latest";
  }
  const parts = rest.split("/");
  const first = parts[0] ?? "";
  const hasRegistry = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = hasRegistry ? first : "index.docker.io";
  if (registry === "docker.io") registry = "index.docker.io";
  const repository = (hasRegistry ? parts.slice(1) : parts).join("/");
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new Error(`bad repository in "${image}"`);
  }
  const full = registry === "index.docker.io" && !repository.includes("/") ? `library/${repository}` : repository;
  return `${registry}/${full}${suffix}`;
}

/** Whether the policy-controller applies a policy with this glob to a pod running `image`. */
export function globMatches(glob: string, image: string): boolean {
  const re = compileGlob(glob);
  const name = referenceName(image);
  return re.test(name) || (name !== image && re.test(image));
}
