/* Passkeys (WebAuthn) for Portero's forms (factors/passkeys.py, factors/passkey_views.py).
 *
 * A form with `data-passkey="create"` or `data-passkey="get"` is sent with the browser's answer
 * in its `credential` field: on submit this script asks the server for options (POST to
 * `data-passkey-options`, with the form's CSRF token and `data-passkey-purpose`), hands them to
 * navigator.credentials.create/get, and sends the form. "get" forms stay hidden unless the
 * browser can use passkeys; a form with `data-passkey-conditional` also lets the browser offer
 * passkeys in the username field's autofill (conditional mediation).
 *
 * Binary values travel as base64url both ways (the helpers below): the JSON parsers some
 * browsers have (PublicKeyCredential.parseCreationOptionsFromJSON) are not relied upon.
 * No third-party code, no inline script (CSP script-src 'self'); the messages shown come from
 * the form's data-msg-* attributes, in the page's language.
 */
(function () {
  "use strict";

  if (window.porteroPasskeys) {
    return; // the page included this script twice
  }
  window.porteroPasskeys = true;

  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch &&
                     window.URLSearchParams);
  var forms = document.querySelectorAll("form[data-passkey]");
  var conditional = null; // the AbortController of the autofill request, while it waits

  // --- base64url -------------------------------------------------------------------------
  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item);
      copy.id = toBuffer(item.id);
      return copy;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json.publicKey);
    options.challenge = toBuffer(options.challenge);
    options.user = Object.assign({}, options.user, { id: toBuffer(options.user.id) });
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json.publicKey);
    options.challenge = toBuffer(options.challenge);
    if (options.allowCredentials) {
      options.allowCredentials = descriptors(options.allowCredentials);
    }
    return options;
  }

  // The credential as WebAuthn's RegistrationResponseJSON / AuthenticationResponseJSON.
  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ?
        credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = toText(response.userHandle);
    }
    return json;
  }

  // --- The form ----------------------------------------------------------------------------
  function say(form, key) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = key ? (form.getAttribute("data-msg-" + key) || "") : "";
    }
  }

  function lock(form, locked) {
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].disabled = locked;
    }
  }

  function options(form) {
    var body = new URLSearchParams();
    var token = form.querySelector("input[name='csrfmiddlewaretoken']");
    body.append("csrfmiddlewaretoken", token ? token.value : "");
    body.append("purpose", form.getAttribute("data-passkey-purpose") || "");
    return fetch(form.getAttribute("data-passkey-options"), {
      method: "POST", body: body, credentials: "same-origin", cache: "no-store",
      referrerPolicy: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("options " + response.status);
      }
      return response.json();
    });
  }

  function send(form, credential) {
    form.querySelector("input[name='credential']").value = JSON.stringify(credentialJSON(credential));
    form.submit(); // no submit event: this script's own handler is not asked again
  }

  function ask(form, json, mediation, signal) {
    if (form.getAttribute("data-passkey") === "create") {
      return navigator.credentials.create({ publicKey: creationOptions(json) });
    }
    var request = { publicKey: requestOptions(json) };
    if (mediation) {
      request.mediation = mediation;
      request.signal = signal;
    }
    return navigator.credentials.get(request);
  }

  function failure(form, error) {
    lock(form, false);
    form.removeAttribute("aria-busy");
    if (error && error.name === "AbortError") {
      say(form, "");
    } else if (error && error.name === "InvalidStateError") {
      say(form, "exists");
    } else if (error && error.name === "NotAllowedError") {
      say(form, "cancelled");
    } else {
      say(form, "failed");
    }
  }

  function run(form) {
    if (conditional) {
      conditional.abort(); // the button wins over the waiting autofill request
      conditional = null;
    }
    lock(form, true);
    form.setAttribute("aria-busy", "true");
    say(form, "waiting");
    options(form)
      .then(function (json) { return ask(form, json); })
      .then(function (credential) {
        if (!credential) {
          throw new Error("no credential");
        }
        send(form, credential);
      })
      .catch(function (error) { failure(form, error); });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-passkey")) {
      return;
    }
    var name = form.querySelector("input[name='name']");
    if (name && !name.value.trim()) {
      return; // sent as it is: the server says a name is needed
    }
    // Ours alone: forms.js's submit-once guard must not hold the form while the browser asks.
    event.preventDefault();
    event.stopImmediatePropagation();
    if (form.getAttribute("aria-busy") !== "true") {
      run(form);
    }
  }

  function startConditional(form) {
    if (!PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || !window.AbortController) {
        return;
      }
      var controller = new AbortController();
      conditional = controller;
      options(form)
        .then(function (json) {
          if (controller.signal.aborted) {
            return null;
          }
          return ask(form, json, "conditional", controller.signal);
        })
        .then(function (credential) {
          if (credential) {
            send(form, credential);
          }
        })
        .catch(function (error) {
          if (conditional === controller) {
            conditional = null;
          }
          if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") {
            say(form, "failed");
          }
        });
    }).catch(function () { /* autofill stays a username field */ });
  }

  for (var i = 0; i < forms.length; i += 1) {
    var form = forms[i];
    if (!supported) {
      if (form.getAttribute("data-passkey") === "create") {
        say(form, "unsupported");
      }
      continue;
    }
    if (form.getAttribute("data-passkey") === "get") {
      form.hidden = false;
    }
    if (form.hasAttribute("data-passkey-conditional")) {
      startConditional(form);
    }
  }
  if (supported) {
    // Capture: before any handler on the form itself (forms.js's).
    document.addEventListener("submit", onSubmit, true);
  }
})();
