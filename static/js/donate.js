// The donation form: live totals, Stripe's Payment Element (deferred intent creation),
// errors beside their fields, and a retry with another card on the same gift.
// Without this script the form still posts and the server shows errors beside fields.
(function () {
  "use strict";

  var form = document.getElementById("donate-form");
  if (!form) return;
  var cfg = form.dataset;
  var feeBasisPoints = parseInt(cfg.feeBasisPoints, 10);
  var feeFixed = parseInt(cfg.feeFixed, 10);
  var minAmount = parseInt(cfg.minAmount, 10);
  var summary = document.getElementById("error-summary");
  var statusLine = document.getElementById("form-status");
  var submitButton = document.getElementById("submit-button");
  var submitText = form.querySelector("[data-submit-text]");
  var feeText = form.querySelector("[data-fee-text]");
  var custom = form.elements.custom_amount;
  var coverFee = form.elements.cover_fee;
  document.documentElement.classList.add("js");

  // --- Money: the same integer arithmetic as donations/fees.py -------------------------
  function stripeFee(amount) {
    return Math.floor((amount * feeBasisPoints + 5000) / 10000) + feeFixed;
  }
  function coverFeeFor(gift) {
    var total = Math.ceil(((gift + feeFixed) * 10000) / (10000 - feeBasisPoints));
    while (total - 1 - stripeFee(total - 1) >= gift) total -= 1;
    while (total - stripeFee(total) < gift) total += 1;
    return total - gift;
  }
  // As config/money.py: minor units per currency (yen 0, dollars 2, dinars 3), the
  // symbol before the number, and a comma only where it groups thousands ("25,00" is
  // refused, not read as 2,500).
  var digits = parseInt(cfg.currencyDigits || "2", 10);
  var unit = Math.pow(10, digits);
  function formatAmount(amount) {
    var whole = Math.floor(amount / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = digits ? "." + (Array(digits + 1).join("0") + (amount % unit)).slice(-digits) : "";
    return cfg.currencySymbol + whole + part;
  }
  function parseAmount(text) {
    var cleaned = text.trim().replace(/\s/g, "");
    if (cfg.currencySymbol && cleaned.indexOf(cfg.currencySymbol) === 0) {
      cleaned = cleaned.slice(cfg.currencySymbol.length);
    }
    var code = cfg.currency.toUpperCase();
    if (cleaned.toUpperCase().slice(-3) === code) cleaned = cleaned.slice(0, -3);
    var pattern = new RegExp(
      "^(\\d{1,3}(,\\d{3})+|\\d+)?" + (digits ? "(\\.\\d{0," + digits + "})?" : "") + "$"
    );
    if (!cleaned || !pattern.test(cleaned) || cleaned === "." || cleaned.length > 20) return 0;
    var parts = cleaned.replace(/,/g, "").split(".");
    var fraction = ((parts[1] || "") + Array(digits + 1).join("0")).slice(0, digits);
    return parseInt(parts[0] || "0", 10) * unit + (digits ? parseInt(fraction, 10) : 0);
  }

  function frequency() {
    var checked = form.querySelector('input[name="frequency"]:checked');
    return checked ? checked.value : "one_time";
  }
  function presetRadios(freq) {
    return form.querySelectorAll('input[name="amount_' + freq + '"]');
  }
  function giftAmount() {
    if (custom.value.trim()) return parseAmount(custom.value);
    var chosen = form.querySelector('input[name="amount_' + frequency() + '"]:checked');
    return chosen && chosen.value !== "other" ? parseInt(chosen.value, 10) : 0;
  }
  function totalAmount() {
    var gift = giftAmount();
    return gift > 0 && coverFee.checked ? gift + coverFeeFor(gift) : gift;
  }

  // Only the chosen frequency's presets show (CSS :has does it too; this covers old browsers).
  function showPresets() {
    var freq = frequency();
    form.querySelectorAll("fieldset.amounts").forEach(function (group) {
      group.hidden = group.dataset.frequency !== freq;
    });
  }

  var stripe = null;
  var elements = null;
  function update() {
    var gift = giftAmount();
    var total = totalAmount();
    feeText.textContent = gift > 0 ? formatAmount(coverFeeFor(gift)) : "";
    var per = { monthly: " a month", annual: " a year" }[frequency()] || "";
    submitText.textContent = total > 0 ? "Give " + formatAmount(total) + per : "Give";
    submitButton.dataset.total = String(total);
    if (elements) {
      elements.update({ mode: frequency() === "one_time" ? "payment" : "subscription", amount: Math.max(total, minAmount) });
    }
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "frequency") showPresets();
    if (target.name && target.name.indexOf("amount_") === 0 && target.value !== "other") custom.value = "";
    update();
  });
  custom.addEventListener("input", function () {
    if (custom.value.trim()) {
      var other = form.querySelector('input[name="amount_' + frequency() + '"][value="other"]');
      if (other) other.checked = true;
    }
    update();
  });
  showPresets();

  // --- Errors: beside each field, listed in a summary that takes focus ---------------
  var fieldTargets = { frequency: "id_frequency", payment: "payment-element", newsletters: "id_newsletters" };
  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach(function (node) { node.textContent = ""; });
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (node) { node.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    summary.hidden = true;
    summary.querySelector("ul").innerHTML = "";
  }
  function showFieldError(name, message) {
    var slot = form.querySelector('[data-error-for="' + name + '"]');
    if (slot) slot.textContent = message;
    var input = document.getElementById(fieldTargets[name] || "id_" + name);
    if (input && name !== "payment" && name !== "__all__") {
      input.setAttribute("aria-invalid", "true");
      var field = input.closest(".field");
      if (field) field.classList.add("has-error");
    }
  }
  function showErrors(errors) {
    var list = summary.querySelector("ul");
    Object.keys(errors).forEach(function (name) {
      errors[name].forEach(function (message) {
        showFieldError(name, message);
        var item = document.createElement("li");
        if (name === "__all__") {
          item.textContent = message;
        } else {
          var link = document.createElement("a");
          link.href = "#" + (fieldTargets[name] || "id_" + name);
          link.textContent = message;
          item.appendChild(link);
        }
        list.appendChild(item);
      });
    });
    summary.hidden = false;
    summary.focus();
  }
  function busy(on, message) {
    submitButton.disabled = on;
    submitButton.setAttribute("aria-busy", on ? "true" : "false");
    statusLine.textContent = message || "";
  }

  // --- Stripe ---------------------------------------------------------------------------
  if (typeof window.Stripe === "function" && cfg.publishableKey) {
    try {
      stripe = window.Stripe(cfg.publishableKey);
      elements = stripe.elements({
        mode: frequency() === "one_time" ? "payment" : "subscription",
        amount: Math.max(totalAmount(), minAmount),
        currency: cfg.currency,
      });
      elements.create("payment").mount("#payment-element");
      form.classList.add("stripe-ready");
    } catch (error) {
      stripe = elements = null;
    }
  }
  if (!stripe) {
    showFieldError("payment", "The card form could not load. Please check your connection and reload the page.");
  }
  update();

  function csrfToken() {
    return form.elements.csrfmiddlewaretoken.value;
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
  }
  function reportDecline(donationId) {
    var body = new FormData();
    body.append("donation_id", donationId);
    return post(cfg.declinedUrl, body)
      .then(function (response) { return response.json(); })
      .catch(function () { return null; });
  }

  // The card-testing limits ask for a challenge (Cloudflare Turnstile): load its script
  // only then, and draw the widget inside the form, which puts its token in a hidden
  // field that the next submit sends along.
  function showChallenge(widget) {
    var box = document.getElementById("challenge");
    if (!box || !widget.site_key) return;
    box.hidden = false;
    function draw() {
      if (!window.turnstile) return;
      if (box.getAttribute("data-widget-id")) {
        window.turnstile.reset(box.getAttribute("data-widget-id"));
      } else {
        box.setAttribute("data-widget-id", window.turnstile.render(box, { sitekey: widget.site_key }));
      }
    }
    if (window.turnstile) return draw();
    var script = document.createElement("script");
    script.src = widget.script;
    script.async = true;
    script.onload = draw;
    document.head.appendChild(script);
  }

  form.addEventListener("submit", function (event) {
    if (!stripe) return; // the server will validate and explain
    event.preventDefault();
    if (submitButton.disabled) return;
    clearErrors();
    busy(true, "Checking your details…");
    elements
      .submit()
      .then(function (result) {
        if (result && result.error) {
          // The card is incomplete: still check the rest, so every error shows at once.
          var cardError = result.error.message;
          var body = new FormData(form);
          body.append("validate_only", "1");
          return post(form.action, body)
            .then(function (response) { return response.json(); })
            .catch(function () { return {}; })
            .then(function (data) {
              showErrors(Object.assign({}, data.errors || {}, { payment: [cardError] }));
              throw null;
            });
        }
        return post(form.action, new FormData(form));
      })
      .then(function (response) {
        return response.json().catch(function () {
          return { errors: { __all__: ["Something went wrong on our side. Nothing was charged; please try again."] } };
        });
      }, function (error) {
        if (error === null) throw null;
        return { errors: { __all__: ["We could not reach our server. Check your connection; nothing was charged."] } };
      })
      .then(function (data) {
        if (data.donation_id) form.elements.donation_id.value = data.donation_id;
        if (data.redirect) {
          window.location.assign(data.redirect);
          throw null;
        }
        if (data.errors) {
          showErrors(data.errors);
          if (data.challenge_widget) showChallenge(data.challenge_widget);
          throw null;
        }
        busy(true, "Confirming your payment…");
        return stripe.confirmPayment({
          elements: elements,
          clientSecret: data.client_secret,
          confirmParams: { return_url: data.return_url },
        });
      })
      .then(function (result) {
        // confirmPayment only comes back here on an error; success leaves for return_url.
        if (result && result.error) {
          var message = result.error.message || "Your card was not charged.";
          if (result.error.type === "card_error") message += " You can try another card.";
          showErrors({ payment: [message] });
          var donationId = form.elements.donation_id.value;
          if (donationId && result.error.type === "card_error") {
            return reportDecline(donationId).then(function (report) {
              if (report && report.allowed === false) showFieldError("__all__", report.message);
            });
          }
        }
      })
      .catch(function (error) {
        if (error !== null && window.console) console.error(error);
      })
      .then(function () {
        busy(false);
      });
  });
})();
