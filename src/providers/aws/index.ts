export { Ec2Provider, type AwsProviderLogger, type DetachWaitOptions, type Ec2ProviderOptions } from './ec2-provider.js';
export type { AwsCredentials } from './ec2-gateway.js';
export { nextFreeDeviceIndex } from './snapshot.js';
export { DEFAULT_IMDS_ENDPOINT } from './imds-client.js';
export { EC2_REQUEST_BUCKETS, Ec2RequestLimiter, requestClassOf, type Ec2RequestClass, type Ec2RequestLimiterOptions } from './ec2-request-limiter.js';
