import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { AppError } from '../../errors.ts';
import type { DiscoveredHost } from './hosts.ts';

export interface Ec2ProviderConfig {
  region: string;
  filters?: Record<string, string[]>;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  endpoint?: string;
}

/** An EC2 instance → a host: Name tag (else the instance id), private/public IPs and DNS names, tags as labels. */
export function hostFromInstance(i: Instance): DiscoveredHost | null {
  if (!i.InstanceId) return null;
  const tags: Record<string, string> = {};
  for (const t of i.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  const addresses = [i.PrivateIpAddress, i.PublicIpAddress, i.PrivateDnsName, i.PublicDnsName,
    ...(i.NetworkInterfaces ?? []).flatMap((n) => (n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress)),
    ...(i.NetworkInterfaces ?? []).map((n) => n.Ipv6Addresses?.[0]?.Ipv6Address)]
    .filter((a): a is string => typeof a === 'string' && a !== '');
  const labels: Record<string, string> = { ...tags };
  if (i.InstanceType) labels['ec2.instance_type'] = i.InstanceType;
  if (i.State?.Name) labels['ec2.state'] = i.State.Name;
  if (i.Placement?.AvailabilityZone) labels['ec2.availability_zone'] = i.Placement.AvailabilityZone;
  if (i.VpcId) labels['ec2.vpc_id'] = i.VpcId;
  return { externalId: i.InstanceId, name: tags.Name || i.InstanceId, addresses: [...new Set(addresses)], labels };
}

/** Every instance DescribeInstances returns for the filters, following NextToken (at most 1,000 pages). */
export async function describeEc2Hosts(config: Ec2ProviderConfig, timeoutMs = 30_000): Promise<DiscoveredHost[]> {
  const client = new EC2Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    maxAttempts: 2,
  });
  const filters = Object.entries(config.filters ?? {}).map(([Name, Values]) => ({ Name, Values }));
  const hosts: DiscoveredHost[] = [];
  let nextToken: string | undefined;
  try {
    for (let page = 0; page < 1000; page += 1) {
      const out = await client.send(new DescribeInstancesCommand({
        ...(filters.length > 0 ? { Filters: filters } : {}),
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }), { abortSignal: AbortSignal.timeout(timeoutMs) });
      for (const r of out.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          const h = hostFromInstance(i);
          if (h) hosts.push(h);
        }
      }
      nextToken = out.NextToken || undefined;
      if (!nextToken) break;
    }
  } catch (err) {
    const e = err as { name?: string; message?: string; Code?: string };
    throw new AppError('inventory_provider_error', 502, `EC2 DescribeInstances failed: ${e.Code ?? e.name ?? 'error'}: ${e.message ?? String(err)}`);
  } finally {
    client.destroy();
  }
  return hosts;
}
