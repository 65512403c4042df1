import DFC
import LinearAlgebra

/// The student–teacher regression task of the DFC paper (Fig. 3): a randomly
/// initialized teacher network of the config's shape labels random inputs, and a
/// student of the same shape learns to imitate it.
public struct StudentTeacher: Sendable {
    public var teacher: Network

    /// A teacher drawn from `seed` (independent of the student's seed stream).
    public init(configuration: Configuration, seed: UInt64) throws {
        var c = configuration
        c.feedbackInit = .xavierNormal
        // A separate derived stream, so the teacher never equals a student with the same seed.
        var stream = SeededGenerator(seed: seed).derived(0x7EAC_4E12)
        let teacherSeed = stream.next()
        teacher = try Network.initialized(c, seed: teacherSeed)
    }

    /// `count` samples: inputs x ~ N(0, 1) per feature, labels the teacher's output r_L⁻(x).
    public func samples(_ count: Int, seed: UInt64) -> (input: Matrix, labels: Matrix) {
        var g = SeededGenerator(seed: seed)
        let x = Matrix.gaussian(rows: count, columns: teacher.sizes[0], std: 1, using: &g)
        return (x, teacher.forward(x).output)
    }
}
