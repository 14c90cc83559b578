/* Password strength meter (SECURITY.md PW3).
 *
 * Progressive enhancement: the server's validators decide when the form is sent; this only shows
 * their verdict while the user types. For every input with `data-strength-meter` (its value is
 * the endpoint's URL) it adds a bar and a polite live region right after the field, and asks the
 * server ~300 ms after the last keystroke. No third-party code, no inline script (CSP).
 */
(function () {
  "use strict";

  var DELAY_MS = 300;
  var MAX_LENGTH = 1024; // PORTERO_PASSWORD_MAX_LENGTH: longer input is not sent at all

  if (!window.fetch || !window.URLSearchParams) {
    return; // old browser: the form works as before
  }

  function fieldValue(form, name) {
    var field = form ? form.querySelector('input[name="' + name + '"]') : null;
    return field ? field.value : "";
  }

  function build(input) {
    var meter = document.createElement("div");
    meter.className = "strength-meter";
    meter.setAttribute("aria-hidden", "true"); // the text below says the same in words
    meter.hidden = true;
    var fill = document.createElement("div");
    fill.className = "strength-meter__fill";
    meter.appendChild(fill);
    var text = document.createElement("p");
    text.className = "strength-meter__text";
    text.id = (input.id || "password") + "_strength";
    text.setAttribute("aria-live", "polite");
    // After the field's show/hide wrapper when there is one, so the bar spans the whole row.
    var anchor = (input.closest && input.closest(".password-input")) || input;
    anchor.insertAdjacentElement("afterend", text);
    anchor.insertAdjacentElement("afterend", meter);
    return { meter: meter, text: text };
  }

  function attach(input) {
    var url = input.getAttribute("data-strength-meter");
    var form = input.form;
    var ui = build(input);
    var timer = null;
    var controller = null;
    var sequence = 0;

    function clear() {
      ui.meter.hidden = true;
      ui.text.textContent = "";
    }

    function show(result) {
      ui.meter.hidden = false;
      ui.meter.setAttribute("data-score", String(result.score));
      ui.meter.setAttribute("data-ok", result.ok ? "true" : "false");
      var parts = result.label ? [result.label] : [];
      ui.text.textContent = parts.concat(result.messages || []).join(" ");
    }

    function evaluate() {
      var password = input.value;
      var mine = ++sequence;
      if (controller) {
        controller.abort();
      }
      if (!password || Array.from(password).length > MAX_LENGTH) {
        clear();
        return;
      }
      controller = window.AbortController ? new AbortController() : null;
      var body = new URLSearchParams();
      body.append("csrfmiddlewaretoken", fieldValue(form, "csrfmiddlewaretoken"));
      body.append("password", password);
      body.append("username", fieldValue(form, "username"));
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        cache: "no-store",
        // This request goes to our own origin only; say so even if a page policy gets stricter
        // (under no-referrer a POST carries "Origin: null", which the CSRF check refuses).
        referrerPolicy: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          return response.ok || response.status === 400 ? response.json() : null;
        })
        .then(function (result) {
          if (mine !== sequence) {
            return; // an older answer arriving late
          }
          if (result) {
            show(result);
          } else {
            clear();
          }
        })
        .catch(function () {
          if (mine === sequence) {
            clear();
          }
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(evaluate, DELAY_MS);
    });
  }

  var inputs = document.querySelectorAll("input[data-strength-meter]");
  for (var i = 0; i < inputs.length; i += 1) {
    attach(inputs[i]);
  }
})();
