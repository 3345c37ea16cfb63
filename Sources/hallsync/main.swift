import ArgumentParser
import Foundation
import HallsyncEngine
import Logging

await HallsyncCommand.main()
