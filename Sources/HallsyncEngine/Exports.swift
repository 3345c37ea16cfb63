/// Whoever runs the engine reads its configuration: the engine's API takes and returns
/// `Configuration` values, so importing the engine brings the configuration's types along.
@_exported import HallsyncConfiguration
