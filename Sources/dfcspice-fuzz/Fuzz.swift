// libFuzzer targets for every reader of untrusted bytes: .npy, .npz, configs, IDX and ngspice
// raw files. `make fuzz` builds this with `-sanitize=fuzzer,address -parse-as-library
// -D FUZZING` and runs each target; the environment variable DFCSPICE_FUZZ_TARGET picks one.
// Every input must end in a value or a thrown error: a trap, a leak (LeakSanitizer), an
// allocation past libFuzzer's limit or a timeout is a finding. The memory budget is set low
// (DFCSPICE_MAX_MEMORY) so that "refuse what does not fit" is exercised, not the machine.
#if FUZZING
import Foundation
import NumPyFormat
import Spice
import Training

enum FuzzTarget: String, CaseIterable {
    case npy, npz, config, idx, raw

    static let current: FuzzTarget = {
        guard let name = ProcessInfo.processInfo.environment["DFCSPICE_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set DFCSPICE_FUZZ_TARGET to one of \(allCases.map(\.rawValue))\n".utf8))
            exit(2)
        }
        return t
    }()

    /// IDX files are read through zlib from a path: each input goes to this file first.
    /// In /dev/shm (memory) where there is one: a disk file per input halves the rate.
    static let scratch = (FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
        : FileManager.default.temporaryDirectory).appendingPathComponent("dfcspice-fuzz-\(getpid()).idx").path

    func run(_ bytes: Data) {
        switch self {
        case .npy: _ = try? NPY.decode(bytes)
        case .npz: _ = try? NPZ(data: bytes)
        case .config: _ = try? ConfigurationLoader.parseExperiment(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
        case .idx:
            guard FileManager.default.createFile(atPath: Self.scratch, contents: bytes) else { return }
            _ = try? IDX.readBytes(path: Self.scratch)
        case .raw: _ = try? RawFile.parse(bytes)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    FuzzTarget.current.run(Data(bytes: data, count: size))
    return 0
}

/// libFuzzer's entry point, `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`.
/// Its arguments are all pointers, passed alike by the C and Swift conventions on x86-64.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's `main` to `<module>_main`: here that hands over to libFuzzer.
@_cdecl("dfcspice_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}
#else
/// Without FUZZING (a plain `swift build`), a stub: libFuzzer supplies `main` only in `make fuzz`.
@main
struct FuzzStub {
    static func main() {
        print("dfcspice-fuzz is a libFuzzer target; build and run it with `make fuzz` (see docs/results.md, Fuzzing).")
    }
}
#endif
