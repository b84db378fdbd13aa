/**
 * The real Ec2Provider on a machine of an in-process EC2 account, for the simulators
 * (src/core/simulation.ts): built from the same settings as the daemon's, with the EC2 account
 * behind its Ec2Api and ImdsApi seams (in-process-ec2.ts) and the provider's client-side request
 * limiter on the simulation's clock. Nothing of the provider is re-implemented: grows, shrinks,
 * kept ENIs, DeleteOnTermination, the MAX_ENI cap and discovery are the daemon's own code.
 */
import type { SimulatedMachine, SimulatedProviderFactory } from '../../core/simulation.js';
import { Ec2Provider } from './ec2-provider.js';
import { Ec2RequestLimiter } from './ec2-request-limiter.js';
import { InProcessEc2Api, InProcessImds, type InProcessEc2 } from './in-process-ec2.js';
import type { AwsSettings } from './plugin.js';

/** A machine of an in-process EC2 account, as the EC2 emulator's simulation hands it out. */
interface Ec2Machine {
  readonly backend: InProcessEc2;
  readonly instanceId: string;
}

function ec2MachineOf(machine: SimulatedMachine): Ec2Machine {
  if (machine.cloud !== 'aws') throw new Error(`the AWS provider cannot run on a machine of ${machine.cloud}`);
  return machine.handle as Ec2Machine;
}

export const simulatedEc2Provider: SimulatedProviderFactory<AwsSettings> = (machine, settings, context) => {
  const { backend, instanceId } = ec2MachineOf(machine);
  const { clock } = context;
  return new Ec2Provider({
    ...(settings.clusterName === undefined ? {} : { clusterName: settings.clusterName }),
    ...(context.maxInterfaces === undefined ? {} : { maxEnis: context.maxInterfaces }),
    ec2Api: new InProcessEc2Api({
      backend,
      sleep: clock.sleep,
      random: context.random,
      limiter: new Ec2RequestLimiter({ clock: clock.now, sleep: clock.sleep }),
    }),
    imdsApi: new InProcessImds(backend, instanceId),
    sleep: clock.sleep,
    now: () => new Date(clock.now()),
  });
};
