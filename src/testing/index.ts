/**
 * `bulwark/testing`: the mock transport, record/replay cassettes, test mode and the virtual
 * clock that drives every policy.
 */
export {
  mockTransport,
  type MockTransport,
  type MockRoute,
  type MockStep,
  type MockReply,
  type MockCall,
} from './mock-transport.js';
export { createVirtualClock, type VirtualClock, type VirtualClockOptions } from './virtual-clock.js';
export { testModeTransport } from '../transport/test-mode.js';
export {
  cassette,
  saveCassette,
  type Cassette,
  type CassetteMode,
  type CassetteOptions,
  type CassetteFile,
  type RecordedInteraction,
  type RecordedRequest,
  type RecordedResponse,
} from './cassette.js';
