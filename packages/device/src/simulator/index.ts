/**
 * @strata/device/simulator: simulated devices for demos, load tests and fault drills (issue 4).
 * Realistic, seeded signals for three profiles (building, factory, fleet), and a fleet runner
 * that drives N SDK devices over real MQTT connections with faults on demand. Node only in
 * practice (the CLI's `strata simulate` uses it); a subpath so that the SDK itself stays small.
 * Guide: docs/simulator.md.
 */
export {
  type BadPayload,
  type BurstOptions,
  badPayload,
  checkFaults,
  DEFAULT_BURST,
  DEFAULT_CLOCK_SKEW_FRACTION,
  type FaultOptions,
} from './faults.js'
export { Fleet, type FleetOptions, type SimulatedDevice, type StopOptions, startFleet } from './fleet.js'
export {
  type MetricSpec,
  PROFILE_NAMES,
  PROFILES,
  type Profile,
  type ProfileName,
  profileOf,
  type Sample,
  type SignalEnvironment,
  type SimulatedSignals,
} from './profiles.js'
export { hashSeed, Rng } from './random.js'
export {
  FLEET_ERROR_KINDS,
  type FleetErrorKind,
  type FleetRates,
  type FleetStats,
  ratesBetween,
} from './stats.js'
