/* Progressive enhancement for Portero's forms. Every form works without it.
 *
 * - Error summary: focus moves to it when a form comes back with errors (the `autofocus`
 *   attribute does the same without script), and its links move focus to the field they name.
 * - Password fields: a "Show" / "Hide" button, rendered hidden by the server with its labels in
 *   the page's language, is revealed and switches the field between hidden and plain text.
 * - Submitting: the first press sends the form, later presses are ignored and the buttons are
 *   disabled, so a double or triple click sends one request.
 *
 * No third-party code, no inline script (CSP script-src 'self'), no markup built from strings.
 */
(function () {
  "use strict";

  var UNLOCK_AFTER_MS = 15000; // a request that never answers must not leave the form dead

  function errorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      return;
    }
    if (document.activeElement !== summary) {
      summary.focus();
    }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
      var field = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
      if (!field) {
        return;
      }
      event.preventDefault();
      // Show the label with the field: "Username" above the box is what the user looks for.
      var label = field.labels && field.labels.length ? field.labels[0] : field;
      label.scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }

  function passwordToggle(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    // A shown password must not go to a spelling or autocorrect service.
    input.spellcheck = false;
    input.setAttribute("autocapitalize", "none");
    input.setAttribute("autocorrect", "off");
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    button.insertAdjacentElement("afterend", status);

    function show(visible) {
      input.type = visible ? "text" : "password";
      button.textContent = button.getAttribute(visible ? "data-hide" : "data-show");
      button.setAttribute("aria-label", button.getAttribute(visible ? "data-hide-name" : "data-show-name"));
    }

    button.addEventListener("click", function () {
      var visible = input.type === "password";
      show(visible);
      status.textContent = button.getAttribute(visible ? "data-shown" : "data-hidden");
    });
    if (input.form) {
      // Never leave a password as plain text in the page the browser may keep.
      input.form.addEventListener("submit", function () { show(false); });
    }
    button.hidden = false;
  }

  function submitOnce(form) {
    var busy = false;
    var buttons = form.querySelectorAll("button:not([type]), button[type='submit'], input[type='submit']");

    function lock(locked) {
      for (var i = 0; i < buttons.length; i += 1) {
        buttons[i].disabled = locked;
        if (locked) {
          buttons[i].setAttribute("aria-disabled", "true");
        } else {
          buttons[i].removeAttribute("aria-disabled");
        }
      }
    }

    form.addEventListener("submit", function (event) {
      if (busy) {
        event.preventDefault();
        return;
      }
      busy = true;
      // Disable after the browser has read the pressed button's name and value.
      window.setTimeout(function () { lock(true); }, 0);
      window.setTimeout(function () { busy = false; lock(false); }, UNLOCK_AFTER_MS);
    });
    window.addEventListener("pageshow", function () {
      busy = false;
      lock(false);
    });
  }

  errorSummary();
  var toggles = document.querySelectorAll("button[data-password-toggle]");
  for (var i = 0; i < toggles.length; i += 1) {
    passwordToggle(toggles[i]);
  }
  var forms = document.querySelectorAll("form");
  for (var j = 0; j < forms.length; j += 1) {
    if ((forms[j].getAttribute("method") || "get").toLowerCase() === "post") {
      submitOnce(forms[j]);
    }
  }
})();
