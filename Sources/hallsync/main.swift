import ArgumentParser
import Foundation
import HallsyncEngine
import Logging

HallsyncCommand.main()
