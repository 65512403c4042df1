import Foundation
import Training

/// Where each point of a sweep stands, from its own files and, for Slurm submissions, from the
/// scheduler (`squeue`, and `sacct` where the cluster keeps accounting).
public struct SweepStatus: Sendable {
    public enum State: String, Sendable, CaseIterable { case done, running, pending, failed, notRun = "not run" }

    public var states: [State]
    /// For failed points, the reason (their failed.json's error line, or Slurm's state).
    public var reasons: [Int: String]

    public func count(_ s: State) -> Int { states.reduce(0) { $0 + ($1 == s ? 1 : 0) } }
    public func indices(_ s: State) -> [Int] { states.indices.filter { states[$0] == s } }
    /// Points to (re)submit: neither done nor queued or running.
    public var toRun: [Int] { states.indices.filter { states[$0] == .failed || states[$0] == .notRun } }

    public var summary: String {
        State.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
    }

    /// Reads the points' files; `scheduler` says which points Slurm has queued or running.
    public static func read(directory: URL, manifest: SweepManifest, scheduler: SchedulerView = SchedulerView()) -> SweepStatus {
        let fm = FileManager.default
        var states = [State](repeating: .notRun, count: manifest.points)
        var reasons: [Int: String] = [:]
        let decoder = JSONDecoder()
        for index in 0..<manifest.points {
            let p = SweepManifest.pointDirectory(directory, index)
            if fm.fileExists(atPath: p.appendingPathComponent(PointFile.result).path) {
                states[index] = .done
                continue
            }
            if let s = scheduler.points[index] {
                switch s {
                case .running: states[index] = .running; continue
                case .pending: states[index] = .pending; continue
                default: break
                }
            }
            if let data = fm.contents(atPath: p.appendingPathComponent(PointFile.running).path),
               let r = try? decoder.decode(PointRunning.self, from: data) {
                // A local process that is still there is running; one that is gone was killed.
                if r.slurmJob == nil, r.host == ProcessInfo.processInfo.hostName, kill(r.pid, 0) == 0 {
                    states[index] = .running
                    continue
                }
                if r.slurmJob != nil, scheduler.queried == false {
                    states[index] = .running
                    continue
                }
                states[index] = .failed
                reasons[index] = "stopped while running on \(r.host) (killed, out of time or memory)"
                    + (scheduler.finalStates[index].map { "; Slurm: \($0)" } ?? "")
                continue
            }
            if let data = fm.contents(atPath: p.appendingPathComponent(PointFile.failed).path) {
                states[index] = .failed
                reasons[index] = (try? decoder.decode(PointFailure.self, from: data))?.error ?? "failed"
                continue
            }
            if let final = scheduler.finalStates[index], final != "COMPLETED" {
                states[index] = .failed
                reasons[index] = "Slurm: \(final) before the point started"
            }
        }
        return SweepStatus(states: states, reasons: reasons)
    }
}

/// What Slurm says about a sweep's array tasks, mapped to points.
public struct SchedulerView: Sendable {
    public enum TaskState: Sendable { case pending, running, other }
    public var points: [Int: TaskState] = [:]
    /// Final states from `sacct` (FAILED, TIMEOUT, OUT_OF_MEMORY, …) where accounting exists.
    public var finalStates: [Int: String] = [:]
    /// Whether the scheduler was asked at all (no Slurm submissions: false).
    public var queried = false
    public init() {}
}
