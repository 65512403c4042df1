import DFC
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a run directory for as long as one process trains in it.
///
/// Two processes on one run (`train --resume RUN` twice, or `--out RUN` while another
/// resumes it) would both write checkpoints and the last would win. `flock(2)` on
/// `RUN/.lock` makes the second refuse at once, naming the holder; the kernel drops the lock
/// when its holder exits, however it exits, so a killed run never leaves a stale lock.
public final class RunLock {
    /// The lock file's name inside the run directory.
    public static let fileName = ".lock"
    private let descriptor: Int32

    /// Takes the lock or throws, saying which process holds it.
    public init(directory: URL) throws {
        let path = directory.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ModelError("\(directory.path): cannot open \(Self.fileName): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &buffer, buffer.count)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw ModelError("\(directory.path): another dfcspice (pid \(holder)) is training in this run; wait for it to finish or stop it (Ctrl-C), then --resume")
        }
        // The holder's pid, for the message above; the lock itself is the flock.
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
