/**
 * A name users can reach: AKS gives a LoadBalancer Service the DNS name
 * `<label>.<region>.cloudapp.azure.com` when the Service carries the annotation below (the
 * cloud provider sets it on the public IP). Pure checks and the URL.
 */

/** The annotation AKS's cloud provider reads (service.beta.kubernetes.io/azure-dns-label-name). */
export const AZURE_DNS_LABEL_ANNOTATION = "service.beta.kubernetes.io/azure-dns-label-name";

/**
 * Azure's rule for a public IP's DNS label: 3 to 63 characters, lowercase letters, digits and
 * hyphens, starting with a letter and ending with a letter or digit.
 */
export function checkDnsLabel(label: string): string {
  if (!/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(label)) {
    throw new Error(
      `--dns-label "${label}" is not a valid Azure DNS label: 3 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (e.g. ai-app-prod)`,
    );
  }
  return label;
}

/** An Azure region name as the CLI spells it (westeurope, eastus2). */
export function checkRegion(region: string): string {
  if (!/^[a-z][a-z0-9]{2,39}$/.test(region)) {
    throw new Error(`--region "${region}" is not an Azure region name such as westeurope or eastus2 (az account list-locations -o table)`);
  }
  return region;
}

/** http://<label>.<region>.cloudapp.azure.com, the address the label gives the Service's public IP. */
export function azurePublicUrl(label: string, region: string, port = 80): string {
  return `http://${label}.${region}.cloudapp.azure.com${port && port !== 80 ? `:${port}` : ""}`;
}

/**
 * The label a deploy renders on the Service: the one asked for (--dns-label), none when removal
 * was asked (--remove-dns-label), else the one the Service carries now (`current`, "" for none),
 * so a run that does not name the label keeps it rather than taking the public name away.
 */
export function dnsLabelToRender(
  asked: { dnsLabel?: string | undefined; remove?: boolean | undefined },
  current: string,
): string | undefined {
  if (asked.dnsLabel && asked.remove) {
    throw new Error(
      "--dns-label and --remove-dns-label contradict each other: give one (--dns-label to set or change the name, --remove-dns-label to drop it)",
    );
  }
  if (asked.dnsLabel) return checkDnsLabel(asked.dnsLabel);
  return asked.remove || !current ? undefined : current;
}
