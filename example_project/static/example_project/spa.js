/* The demo single-page app: authorization code flow with PKCE S256 (RFC 7636) in the browser.
 *
 * - Endpoints come from the server metadata (RFC 8414); Revoke appears only when the server
 *   advertises a revocation_endpoint (RFC 7009).
 * - The PKCE verifier and state live in sessionStorage for the redirect round trip only, and are
 *   removed as soon as the app comes back. Tokens live in memory only.
 * - The authorization response is accepted only with the state we sent and, per RFC 9207, the
 *   issuer we discovered.
 * - No token value is ever written to the page, the log or storage.
 * - DPoP (RFC 9449), when the server advertises ES256 in dpop_signing_alg_values_supported: a P-256
 *   key pair made by WebCrypto with extractable=false (the private key cannot be read by any
 *   script, this one included), kept in IndexedDB across the sign-in redirect. The code is bound
 *   to its thumbprint (dpop_jkt, §10), every token request and API call carries a fresh proof
 *   (with ath at the API), and a server nonce (DPoP-Nonce, use_dpop_nonce) is taken and retried once.
 */
(function () {
  "use strict";

  var FLOW_KEY = "demo-spa-flow";
  var root = document.getElementById("spa");
  var config = {
    issuer: root.dataset.issuer,
    clientId: root.dataset.clientId,
    redirectUri: root.dataset.redirectUri,
    scope: root.dataset.scope,
    metadataUrl: root.dataset.metadataUrl,
    apiBase: root.dataset.apiBase
  };
  var metadata = null;
  var tokens = null; // {accessToken, tokenType, refreshToken, expiresAt, scope}
  var dpopKey = null; // {privateKey (non-extractable CryptoKey), publicJwk, jkt}
  var nonces = {}; // origin -> the last DPoP-Nonce it sent
  var refreshCount = 0;

  function $(id) { return document.getElementById(id); }

  /* ---------- small helpers ---------- */

  function OAuthFailure(error, description, status) {
    this.error = error;
    this.description = description || "";
    this.status = status;
  }

  function base64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(byteCount) {
    var bytes = new Uint8Array(byteCount);
    crypto.getRandomValues(bytes);
    return base64url(bytes);
  }

  function s256(verifier) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (digest) {
      return base64url(new Uint8Array(digest));
    });
  }

  function decodeJwtPart(part) {
    var padded = part.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) { padded += "="; }
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function pretty(value) { return JSON.stringify(value, null, 2); }

  function log(message) {
    var item = document.createElement("li");
    var time = new Date().toLocaleTimeString();
    item.textContent = time + "  " + message;
    $("log").appendChild(item);
    item.scrollIntoView({block: "nearest"});
  }

  // What a person can do about the errors this demo meets most; the RFC code is shown as well.
  var ADVICE = {
    access_denied: "You chose Deny, so the app got no access. Sign in again to choose otherwise.",
    invalid_state: "This answer does not belong to a sign-in this tab started. It was ignored.",
    issuer_mismatch: "The answer names another server (RFC 9207). It was ignored.",
    invalid_grant: "The server no longer accepts this code or refresh token. Sign in again.",
    network_error: "The server could not be reached."
  };

  function showError(failure) {
    $("spa-error-title").textContent = failure.error;
    var text = [failure.description, ADVICE[failure.error]].filter(Boolean).join(" ");
    $("spa-error-text").textContent = text;
    $("spa-error").hidden = false;
    $("spa-notice").hidden = true;
    log("error: " + failure.error + (failure.description ? " (" + failure.description + ")" : ""));
  }

  function showNotice(text) {
    $("spa-notice").textContent = text;
    $("spa-notice").hidden = false;
    $("spa-error").hidden = true;
  }

  function asFailure(problem) {
    if (problem instanceof OAuthFailure) { return problem; }
    return new OAuthFailure("network_error", String(problem && problem.message || problem));
  }

  function postForm(url, fields) {
    // credentials: "omit": the app authenticates with tokens, never with this site's cookies.
    return fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
      body: new URLSearchParams(fields),
      credentials: "omit",
      cache: "no-store"
    });
  }

  /* ---------- DPoP (RFC 9449) ---------- */

  var DPOP_DB = "demo-spa-dpop";

  function dpopSupported() {
    return Boolean(metadata) && (metadata.dpop_signing_alg_values_supported || []).indexOf("ES256") >= 0;
  }

  function keyStore(mode, action) {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open(DPOP_DB, 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore("keys"); };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var transaction = db.transaction("keys", mode);
        var request = action(transaction.objectStore("keys"));
        transaction.oncomplete = function () { db.close(); resolve(request.result); };
        transaction.onerror = function () { db.close(); reject(transaction.error); };
      };
    });
  }

  function useKeyPair(pair) {
    return crypto.subtle.exportKey("jwk", pair.publicKey).then(function (jwk) {
      // RFC 7638: the required members in lexicographic order, no whitespace (JSON.stringify keeps this order).
      var publicJwk = {crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y};
      var canonical = new TextEncoder().encode(JSON.stringify(publicJwk));
      return crypto.subtle.digest("SHA-256", canonical).then(function (digest) {
        dpopKey = {privateKey: pair.privateKey, publicJwk: publicJwk, jkt: base64url(new Uint8Array(digest))};
        return dpopKey;
      });
    });
  }

  function newDpopKey() {
    // extractable=false: the private key never leaves WebCrypto; only the public half can be exported.
    return crypto.subtle.generateKey({name: "ECDSA", namedCurve: "P-256"}, false, ["sign"]).then(function (pair) {
      return keyStore("readwrite", function (store) { return store.put(pair, "dpop"); }).then(function () {
        log("made a DPoP key pair (P-256, private key not extractable)");
        return useKeyPair(pair);
      });
    });
  }

  function loadDpopKey() {
    return keyStore("readonly", function (store) { return store.get("dpop"); }).then(function (pair) {
      return pair ? useKeyPair(pair) : null;
    });
  }

  function forgetDpopKey() {
    dpopKey = null;
    return keyStore("readwrite", function (store) { return store.delete("dpop"); }).catch(function () { return null; });
  }

  function textPart(value) { return base64url(new TextEncoder().encode(JSON.stringify(value))); }

  function dpopProof(method, url, accessToken) {
    var target = new URL(url);
    var claims = {jti: randomString(16), htm: method, htu: target.origin + target.pathname, iat: Math.floor(Date.now() / 1000)};
    if (nonces[target.origin]) { claims.nonce = nonces[target.origin]; }
    return (accessToken ? s256(accessToken) : Promise.resolve(null)).then(function (ath) {
      if (ath) { claims.ath = ath; } // RFC 9449 §4.2: the hash of the access token sent with it
      var input = textPart({typ: "dpop+jwt", alg: "ES256", jwk: dpopKey.publicJwk}) + "." + textPart(claims);
      // WebCrypto's ECDSA signature is r || s, exactly the JWS ES256 form (RFC 7518 §3.4).
      return crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, dpopKey.privateKey, new TextEncoder().encode(input))
        .then(function (signature) { return input + "." + base64url(new Uint8Array(signature)); });
    });
  }

  function asksForNonce(response) {
    if (response.status !== 400 && response.status !== 401) { return Promise.resolve(false); }
    if ((response.headers.get("WWW-Authenticate") || "").indexOf('error="use_dpop_nonce"') >= 0) { return Promise.resolve(true); }
    return readJson(response.clone()).then(function (body) { return body.error === "use_dpop_nonce"; });
  }

  // fetch with a DPoP proof; a server nonce is remembered, and a use_dpop_nonce answer retried once with it.
  function dpopFetch(method, url, options, accessToken, retried) {
    return dpopProof(method, url, accessToken).then(function (proof) {
      var headers = Object.assign({}, options.headers, {"DPoP": proof});
      return fetch(url, Object.assign({}, options, {method: method, headers: headers}));
    }).then(function (response) {
      var nonce = response.headers.get("DPoP-Nonce");
      if (nonce) { nonces[new URL(url).origin] = nonce; }
      return asksForNonce(response).then(function (again) {
        if (again && nonce && !retried) {
          log("the server asked for a DPoP nonce; sending the proof again with it");
          return dpopFetch(method, url, options, accessToken, true);
        }
        return response;
      });
    });
  }

  function readJson(response) {
    return response.text().then(function (text) {
      if (!text) { return {}; }
      try { return JSON.parse(text); } catch (ignored) { return {error: "invalid_response", error_description: text.slice(0, 200)}; }
    });
  }

  /* ---------- discovery ---------- */

  function loadMetadata() {
    return fetch(config.metadataUrl, {headers: {"Accept": "application/json"}, credentials: "omit"})
      .then(function (response) {
        if (!response.ok) { throw new OAuthFailure("metadata_unavailable", "The metadata answered HTTP " + response.status + "."); }
        return response.json();
      })
      .then(function (document_) {
        // RFC 8414 §3.3: the issuer in the document must be the one we asked about.
        if (document_.issuer !== config.issuer) {
          throw new OAuthFailure("issuer_mismatch", "The metadata names issuer " + document_.issuer + ", not " + config.issuer + ".");
        }
        metadata = document_;
        $("revoke").hidden = !metadata.revocation_endpoint;
        $("revoke-hint").hidden = Boolean(metadata.revocation_endpoint);
        $("metadata-status").textContent = "Authorization endpoint: " + metadata.authorization_endpoint;
        $("sign-in").disabled = false;
        log("metadata loaded from " + config.metadataUrl);
      });
  }

  /* ---------- the authorization request ---------- */

  function signIn() {
    var verifier = randomString(32); // 43 characters, 256 bits (RFC 7636 §4.1)
    var state = randomString(16);
    var keyReady = dpopSupported() ? newDpopKey() : forgetDpopKey();
    return keyReady.then(function () { return s256(verifier); }).then(function (challenge) {
      sessionStorage.setItem(FLOW_KEY, JSON.stringify({verifier: verifier, state: state}));
      var query = new URLSearchParams({
        response_type: "code",
        client_id: config.clientId,
        redirect_uri: config.redirectUri,
        scope: config.scope,
        state: state,
        code_challenge: challenge,
        code_challenge_method: "S256"
      });
      // RFC 9449 §10: the code can then only be redeemed with a proof signed by this very key.
      if (dpopKey) { query.set("dpop_jkt", dpopKey.jkt); }
      log("redirecting to the authorization endpoint");
      window.location.assign(metadata.authorization_endpoint + "?" + query.toString());
    });
  }

  /* ---------- the authorization response ---------- */

  function takeFlow() {
    var stored = sessionStorage.getItem(FLOW_KEY);
    sessionStorage.removeItem(FLOW_KEY); // single use, whatever happens next
    return stored ? JSON.parse(stored) : null;
  }

  function handleRedirect(params) {
    var flow = takeFlow();
    // The code must not stay in the address bar or the history.
    window.history.replaceState(null, "", window.location.pathname);
    if (!flow || params.get("state") !== flow.state) {
      return Promise.reject(new OAuthFailure("invalid_state", "The response does not answer a request of this app. Sign in again."));
    }
    if (params.get("iss") !== metadata.issuer) {
      // RFC 9207 §2.4: a missing or different iss means the response may come from another server.
      return Promise.reject(new OAuthFailure("issuer_mismatch", "The response does not come from " + metadata.issuer + "."));
    }
    if (params.has("error")) {
      return Promise.reject(new OAuthFailure(params.get("error"), params.get("error_description")));
    }
    log("state and iss checked; exchanging the code at the token endpoint");
    return (dpopSupported() ? loadDpopKey() : Promise.resolve(null)).then(function () { return tokenRequest({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: config.redirectUri,
      client_id: config.clientId,
      code_verifier: flow.verifier
    }); }).then(function (body) {
      refreshCount = 0;
      keepTokens(body);
      showNotice(body.token_type === "DPoP"
        ? "Signed in. The code was exchanged with the PKCE verifier and a DPoP proof: the tokens work only with this browser's key."
        : "Signed in. The code was exchanged for tokens with the PKCE verifier; no secret was involved.");
    });
  }

  /* ---------- the token endpoint ---------- */

  function tokenRequest(fields) {
    log("POST " + new URL(metadata.token_endpoint).pathname + " (grant_type=" + fields.grant_type + ")" +
      (dpopKey ? " with a DPoP proof" : ""));
    var sent = dpopKey
      ? dpopFetch("POST", metadata.token_endpoint, {
        headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        body: new URLSearchParams(fields), credentials: "omit", cache: "no-store"
      })
      : postForm(metadata.token_endpoint, fields);
    return sent.then(function (response) {
      return readJson(response).then(function (body) {
        log("token endpoint answered " + response.status);
        if (!response.ok) { throw new OAuthFailure(body.error || "http_" + response.status, body.error_description, response.status); }
        return body;
      });
    });
  }

  function keepTokens(body) {
    tokens = {
      accessToken: body.access_token,
      tokenType: body.token_type,
      refreshToken: body.refresh_token || (tokens && tokens.refreshToken) || null,
      expiresAt: Date.now() + body.expires_in * 1000,
      scope: body.scope || ""
    };
    render();
  }

  function refresh() {
    return tokenRequest({
      grant_type: "refresh_token",
      refresh_token: tokens.refreshToken,
      client_id: config.clientId
    }).then(function (body) {
      var rotated = Boolean(body.refresh_token) && body.refresh_token !== tokens.refreshToken;
      if (rotated) { refreshCount += 1; }
      keepTokens(body);
      showNotice(rotated
        ? "Refreshed: a new access token and a new refresh token arrived; the previous refresh token no longer works."
        : "Refreshed: a new access token arrived.");
    });
  }

  function revoke() {
    var which = tokens.refreshToken ? "refresh_token" : "access_token";
    var token = tokens.refreshToken || tokens.accessToken;
    log("POST " + new URL(metadata.revocation_endpoint).pathname + " (token_type_hint=" + which + ")");
    return postForm(metadata.revocation_endpoint, {token: token, token_type_hint: which, client_id: config.clientId})
      .then(function (response) {
        log("revocation endpoint answered " + response.status);
        if (!response.ok) {
          return readJson(response).then(function (body) {
            throw new OAuthFailure(body.error || "http_" + response.status, body.error_description, response.status);
          });
        }
        tokens = null;
        render();
        showNotice("Revoked. The server no longer accepts these tokens (its APIs refuse them within 2 seconds, in every process), and the app has forgotten them.");
      });
  }

  /* ---------- the demo API ---------- */

  // asBearer: send the token alone, as whoever copied it would; a DPoP-bound token is then refused.
  function callApi(method, path, body, asBearer) {
    var bound = tokens.tokenType === "DPoP" && dpopKey && !asBearer;
    var headers = {"Authorization": (bound ? "DPoP " : "Bearer ") + tokens.accessToken, "Accept": "application/json"};
    var options = {method: method, headers: headers, credentials: "omit", cache: "no-store"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var url = config.apiBase + path;
    log(method + " " + new URL(url).pathname + (bound ? " with a DPoP proof" : asBearer ? " with the token alone" : ""));
    var sent = bound ? dpopFetch(method, url, options, tokens.accessToken) : fetch(url, options);
    return sent.then(function (response) {
      return readJson(response).then(function (data) {
        log("API answered " + response.status);
        var status = method + " /api/" + path + " → " + response.status + " " + response.statusText;
        var challenge = response.headers.get("WWW-Authenticate");
        if (challenge) { status += " (WWW-Authenticate: " + challenge + ")"; }
        $("api-status").textContent = status;
        $("api-status").className = response.ok ? "" : "error";
        $("api-result").textContent = pretty(data);
        $("api-result").hidden = false;
        return response.ok;
      });
    });
  }

  /* ---------- rendering ---------- */

  function render() {
    var signedIn = tokens !== null;
    $("signed-in").hidden = !signedIn;
    $("signed-out").hidden = signedIn;
    if (!signedIn) {
      $("api-result").hidden = true;
      $("api-status").textContent = "No call yet.";
      $("api-status").className = "muted";
      return;
    }
    var parts = tokens.accessToken.split(".");
    var header = decodeJwtPart(parts[0]);
    var claims = decodeJwtPart(parts[1]);
    var bound = tokens.tokenType === "DPoP" && claims.cnf && claims.cnf.jkt;
    $("token-badge").textContent = bound ? "DPoP-bound access token" : "access token";
    $("dpop-status").textContent = bound
      ? "bound to this browser's key (cnf.jkt " + claims.cnf.jkt + ")" + (dpopKey && dpopKey.jkt === claims.cnf.jkt ? "" : " (key mismatch!)")
      : "none: a bearer token, usable by whoever holds it";
    $("call-copied").hidden = !bound;
    $("token-header").textContent = pretty(header);
    $("token-claims").textContent = pretty(claims);
    $("token-sub").textContent = claims.sub;
    $("token-scope").textContent = tokens.scope || claims.scope || "";
    $("token-expiry").textContent = new Date(tokens.expiresAt).toLocaleTimeString() + " (in " +
      Math.round((tokens.expiresAt - Date.now()) / 1000) + " s)";
    if (!tokens.refreshToken) {
      $("refresh-status").textContent = "none";
    } else if (refreshCount === 0) {
      $("refresh-status").textContent = "received with the first tokens (kept in memory, not shown)";
    } else {
      $("refresh-status").textContent = "rotated " + refreshCount + (refreshCount === 1 ? " time" : " times") +
        ": a new one arrived at " + new Date().toLocaleTimeString() + "; the previous one is dead";
    }
    $("refresh").disabled = !tokens.refreshToken;
  }

  /* ---------- wiring ---------- */

  function guard(action) {
    return function (event) {
      if (event) { event.preventDefault(); }
      var button = event && event.submitter ? event.submitter : event && event.currentTarget;
      if (button && button.tagName === "BUTTON") { button.disabled = true; }
      Promise.resolve().then(action).catch(function (problem) { showError(asFailure(problem)); }).then(function () {
        if (button && button.tagName === "BUTTON") { button.disabled = false; }
        if (tokens) { $("refresh").disabled = !tokens.refreshToken; }
      });
    };
  }

  $("sign-in").addEventListener("click", guard(signIn));
  $("refresh").addEventListener("click", guard(refresh));
  $("revoke").addEventListener("click", guard(revoke));
  $("forget").addEventListener("click", guard(function () {
    tokens = null;
    forgetDpopKey();
    render();
    showNotice("The app forgot its tokens (they stay valid on the server until they expire or are revoked).");
  }));
  $("call-me").addEventListener("click", guard(function () { return callApi("GET", "me"); }));
  $("list-notes").addEventListener("click", guard(function () { return callApi("GET", "notes/"); }));
  $("call-copied").addEventListener("click", guard(function () { return callApi("GET", "me", undefined, true); }));
  $("note-form").addEventListener("submit", guard(function () {
    var text = $("note-text").value.trim();
    if (!text) { throw new OAuthFailure("invalid_note", "Write something first."); }
    return callApi("POST", "notes/", {text: text}).then(function (ok) { if (ok) { $("note-text").value = ""; } });
  }));

  render();
  if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
    showError(new OAuthFailure("insecure_context", "WebCrypto needs https or a loopback address such as http://127.0.0.1."));
    return;
  }
  var params = new URLSearchParams(window.location.search);
  loadMetadata()
    .then(function () {
      if (params.has("code") || params.has("error")) { return handleRedirect(params); }
      return null;
    })
    .catch(function (problem) { showError(asFailure(problem)); });
})();
