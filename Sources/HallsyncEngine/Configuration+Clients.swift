import Foundation
import HallsyncConfiguration
import HallsyncDomain
import HallsyncTransport

/// The clients a configuration describes: the portal's signer and clients, the halls' clients,
/// libcurl's options. Kept beside the engine, so that the configuration itself (and the web
/// page, which reads it) depends on neither libcurl nor the transports.
extension Configuration {
    /// The portal's signer, with the app secret read from `portal.appSecretFile` (once: every
    /// portal client of an engine shares it).
    public func portalSigner() throws(ConfigurationError) -> PortalSigner {
        guard let secret = FileManager.default.contents(atPath: portal.appSecretFile)
            .flatMap({ String(data: $0, encoding: .utf8) })?.trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty else {
            throw ConfigurationError("cannot read the portal app secret from \(portal.appSecretFile); check portal.appSecretFile")
        }
        return PortalSigner(appId: portal.appId, appSecret: secret)
    }

    /// A portal client with its own curl handle, signing with `signer`.
    /// `gate`: asked before every request (one daemon of a pair).
    public func portalClient(signer: PortalSigner, gate: SendGate? = nil) throws(TransportError) -> PortalClient {
        PortalClient(baseURL: portal.baseURL, signer: signer, http: try CurlHTTPClient(options: httpOptions, gate: gate))
    }

    /// A client of one hall with its own curl handle (a handle is never shared between threads).
    /// Clients of the same hall share `token`, so a token re-read by one serves all.
    public func hallClient(_ target: HallTarget, token: TokenSource, gate: SendGate? = nil) throws(TransportError) -> HallClient {
        HallClient(target: target, baseURL: hall(target).baseURL, token: token, http: try CurlHTTPClient(options: httpOptions, gate: gate))
    }

    public var httpOptions: CurlHTTPClient.Options {
        CurlHTTPClient.Options(connectTimeout: http.connectTimeout, totalTimeout: http.requestTimeout,
                               maxResponseBytes: http.maxResponseBytes, verifyTLS: http.verifyTLS, caFile: http.caFile)
    }
}
