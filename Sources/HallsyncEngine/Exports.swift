/// Whoever runs the engine reads its configuration: the engine's API takes and returns
/// `Configuration` values, so importing the engine brings the configuration's types along.
@_exported import HallsyncConfiguration

/// The machines the engine's loops ask: their values (positions, cursors, the lease's role) are
/// part of the engine's API too.
@_exported import HallsyncMachines
