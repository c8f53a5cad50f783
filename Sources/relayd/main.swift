import Relay
for lib in LinkedLibraries.all { print("\(lib.name) \(lib.version)") }
