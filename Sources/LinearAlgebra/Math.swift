#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
func atan2Degrees(_ y: Double, _ x: Double) -> Double { atan2(y, x) * 180 / Double.pi }

@usableFromInline func logDouble(_ x: Double) -> Double { log(x) }
@usableFromInline func sinDouble(_ x: Double) -> Double { sin(x) }
@usableFromInline func cosDouble(_ x: Double) -> Double { cos(x) }
@usableFromInline func expDouble(_ x: Double) -> Double { exp(x) }
