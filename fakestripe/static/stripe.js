/*
 * Stripe.js stand-in served by fakestripe at /v3/ (development, tests and the demo only).
 *
 * Implements the calls the donation form makes, with Stripe.js's shapes:
 *   Stripe(pk) · stripe.elements({mode, amount, currency}) · elements.update({...})
 *   elements.create('payment') -> element.mount(selectorOrNode), element.on('change'|'ready', fn)
 *   await elements.submit() -> {} | {error: {type: 'validation_error', message}}
 *   await stripe.confirmPayment({elements, clientSecret, confirmParams: {return_url}, redirect})
 *   await stripe.confirmSetup({elements, clientSecret, confirmParams: {return_url}, redirect})
 *   await stripe.retrievePaymentIntent(clientSecret) / stripe.retrieveSetupIntent(clientSecret)
 *   await stripe.createPaymentMethod({elements, params}) -> {paymentMethod} | {error}
 *   await stripe.handleNextAction({clientSecret}) -> {paymentIntent | setupIntent} | {error}
 * The Payment Element is plain labelled inputs (Card number, Expiry, CVC) instead of
 * Stripe's iframe; 3-D Secure is an in-page dialog with "Complete authentication" and
 * "Fail authentication" buttons. Requests go to the emulator that served this file.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var BASE = script ? new URL(script.src).origin : window.location.origin;
  var AUTH_FAILURE =
    "We are unable to authenticate your payment method. Please choose a different payment method and try again.";

  function encode(params, prefix, out) {
    out = out || [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      var name = prefix ? prefix + "[" + key + "]" : key;
      if (value === undefined || value === null) return;
      if (typeof value === "object") encode(value, name, out);
      else out.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(value)));
    });
    return out.join("&");
  }

  function api(key, method, path, params) {
    var body = encode(Object.assign({ key: key }, params || {}));
    var url = BASE + path + (method === "GET" ? "?" + body : "");
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: method === "GET" ? undefined : body,
    }).then(function (response) {
      return response.json().then(function (json) {
        return { status: response.status, json: json };
      });
    });
  }

  function intentPath(clientSecret) {
    var id = String(clientSecret || "").split("_secret_")[0];
    if (!/^(pi|seti)_/.test(id)) return null;
    return { id: id, kind: id.indexOf("seti_") === 0 ? "setup_intents" : "payment_intents" };
  }

  // --- the Payment Element ------------------------------------------------------------

  function PaymentElement(elements) {
    this._elements = elements;
    this._handlers = {};
    this._node = null;
    this._inputs = {};
  }

  PaymentElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  PaymentElement.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).forEach(function (handler) {
      handler(payload);
    });
  };

  PaymentElement.prototype.mount = function (target) {
    var node = typeof target === "string" ? document.querySelector(target) : target;
    if (!node) throw new Error("Stripe (emulator): mount target not found: " + target);
    this._node = node;
    var wrapper = document.createElement("div");
    wrapper.className = "fakestripe-payment-element";
    wrapper.setAttribute("data-fakestripe", "payment-element");
    var fields = [
      ["number", "Card number", "1234 1234 1234 1234", "cc-number", "numeric"],
      ["expiry", "Expiry", "MM / YY", "cc-exp", "numeric"],
      ["cvc", "CVC", "CVC", "cc-csc", "numeric"],
    ];
    var self = this;
    fields.forEach(function (field) {
      var id = "fakestripe-" + field[0] + "-" + Math.random().toString(36).slice(2, 8);
      var label = document.createElement("label");
      label.setAttribute("for", id);
      label.textContent = field[1];
      var input = document.createElement("input");
      input.id = id;
      input.name = "fakestripe_" + field[0];
      input.placeholder = field[2];
      input.autocomplete = field[3];
      input.inputMode = field[4];
      input.addEventListener("input", function () {
        self._emit("change", self._state());
      });
      var row = document.createElement("div");
      row.className = "fakestripe-field";
      row.appendChild(label);
      row.appendChild(input);
      wrapper.appendChild(row);
      self._inputs[field[0]] = input;
    });
    node.appendChild(wrapper);
    setTimeout(function () {
      self._emit("ready", { elementType: "payment" });
    }, 0);
  };

  PaymentElement.prototype.unmount = function () {
    if (this._node) this._node.innerHTML = "";
  };
  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;
  PaymentElement.prototype.focus = function () {
    if (this._inputs.number) this._inputs.number.focus();
  };

  PaymentElement.prototype._values = function () {
    var get = function (input) {
      return input ? input.value.trim() : "";
    };
    var number = get(this._inputs.number).replace(/\D/g, "");
    var expiry = get(this._inputs.expiry).replace(/\s/g, "");
    var match = /^(\d{1,2})\/?(\d{2}|\d{4})$/.exec(expiry);
    return {
      number: number,
      exp_month: match ? parseInt(match[1], 10) : null,
      exp_year: match ? parseInt(match[2], 10) : null,
      cvc: get(this._inputs.cvc),
    };
  };

  PaymentElement.prototype._problem = function () {
    var v = this._values();
    if (!v.number) return "Your card number is incomplete.";
    if (v.number.length < 13) return "Your card number is incomplete.";
    if (!v.exp_month || !v.exp_year) return "Your card's expiration date is incomplete.";
    if (v.exp_month < 1 || v.exp_month > 12) return "Your card's expiration date is invalid.";
    if (v.cvc.length < 3) return "Your card's security code is incomplete.";
    return null;
  };

  PaymentElement.prototype._state = function () {
    var v = this._values();
    return {
      elementType: "payment",
      complete: this._problem() === null,
      empty: !v.number && !v.cvc,
      value: { type: "card" },
    };
  };

  // --- Elements -------------------------------------------------------------------------

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._options = Object.assign({}, options || {});
    this._element = null;
    this._submitted = false;
  }

  Elements.prototype.create = function (type) {
    if (type !== "payment") throw new Error("Stripe (emulator): only the 'payment' element is implemented.");
    this._element = new PaymentElement(this);
    return this._element;
  };

  Elements.prototype.getElement = function (type) {
    return type === "payment" ? this._element : null;
  };

  Elements.prototype.update = function (options) {
    Object.assign(this._options, options || {});
  };

  Elements.prototype.fetchUpdates = function () {
    return Promise.resolve({});
  };

  Elements.prototype.submit = function () {
    var element = this._element;
    if (!element || !element._node) {
      return Promise.resolve({ error: { type: "validation_error", message: "The Payment Element is not mounted." } });
    }
    var problem = element._problem();
    if (problem) return Promise.resolve({ error: { type: "validation_error", message: problem } });
    this._submitted = true;
    return Promise.resolve({});
  };

  // --- 3-D Secure dialog ------------------------------------------------------------------

  function challenge() {
    return new Promise(function (resolve) {
      var overlay = document.createElement("div");
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", "3D Secure authentication");
      overlay.setAttribute("data-fakestripe", "3ds");
      overlay.style.cssText =
        "position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:center;" +
        "justify-content:center;z-index:2147483647";
      var box = document.createElement("div");
      box.style.cssText = "background:#fff;padding:24px;border-radius:8px;max-width:320px;font:16px sans-serif";
      var title = document.createElement("h2");
      title.textContent = "3D Secure 2 Test Page";
      var text = document.createElement("p");
      text.textContent = "Your bank asks you to confirm this payment (emulator).";
      box.appendChild(title);
      box.appendChild(text);
      [["Complete authentication", true], ["Fail authentication", false]].forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice[0];
        button.style.margin = "4px";
        button.addEventListener("click", function () {
          overlay.remove();
          resolve(choice[1]);
        });
        box.appendChild(button);
      });
      overlay.appendChild(box);
      document.body.appendChild(overlay);
    });
  }

  // --- Stripe -----------------------------------------------------------------------------

  function StripeEmulator(key) {
    if (!key || String(key).indexOf("pk_") !== 0) {
      throw new Error("Stripe (emulator): expected a publishable key (pk_...), got " + key);
    }
    this._key = key;
  }

  StripeEmulator.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  StripeEmulator.prototype._retrieve = function (clientSecret) {
    var path = intentPath(clientSecret);
    if (!path) return Promise.resolve({ error: { type: "invalid_request_error", message: "Invalid client secret." } });
    return api(this._key, "GET", "/v1/" + path.kind + "/" + path.id, { client_secret: clientSecret });
  };

  StripeEmulator.prototype.retrievePaymentIntent = function (clientSecret) {
    return this._retrieve(clientSecret).then(function (r) {
      return r.status === 200 ? { paymentIntent: r.json } : { error: r.json.error };
    });
  };

  StripeEmulator.prototype.retrieveSetupIntent = function (clientSecret) {
    return this._retrieve(clientSecret).then(function (r) {
      return r.status === 200 ? { setupIntent: r.json } : { error: r.json.error };
    });
  };

  StripeEmulator.prototype._confirm = function (options, kind) {
    var self = this;
    options = options || {};
    var clientSecret =
      options.clientSecret || (options.elements && options.elements._options.clientSecret);
    var params = options.confirmParams || {};
    var path = intentPath(clientSecret);
    var resultKey = kind === "setup_intents" ? "setupIntent" : "paymentIntent";
    var queryKey = kind === "setup_intents" ? "setup_intent" : "payment_intent";
    if (!path || path.kind !== kind) {
      return Promise.resolve({
        error: { type: "invalid_request_error", message: "Invalid value for clientSecret: " + clientSecret },
      });
    }
    var element = options.elements && options.elements._element;
    if (!element) {
      return Promise.resolve({ error: { type: "validation_error", message: "Pass the elements you mounted." } });
    }
    var problem = element._problem();
    if (problem) return Promise.resolve({ error: { type: "validation_error", message: problem } });
    // Like Stripe.js: with deferred intents (elements created with `mode`), the page must
    // call elements.submit() before confirming, and each submit covers one confirmation.
    var elementsObject = options.elements;
    if (elementsObject._options.mode && !elementsObject._submitted) {
      return Promise.resolve({
        error: {
          type: "invalid_request_error",
          code: "elements_submit_required",
          message:
            "elements.submit() must be called before stripe." +
            (kind === "setup_intents" ? "confirmSetup" : "confirmPayment") +
            "(). Call elements.submit() as soon as your customer presses pay, prior to any asynchronous work.",
        },
      });
    }
    elementsObject._submitted = false;
    if (options.redirect !== "if_required" && !params.return_url) {
      return Promise.resolve({
        error: { type: "invalid_request_error", message: "confirmParams.return_url is required." },
      });
    }
    var card = element._values();
    var pmParams = {
      type: "card",
      card: { number: card.number, exp_month: card.exp_month, exp_year: card.exp_year, cvc: card.cvc },
    };
    if (params.payment_method_data && params.payment_method_data.billing_details) {
      pmParams.billing_details = params.payment_method_data.billing_details;
    }

    function finish(intent) {
      if (intent.status === "succeeded" || intent.status === "processing") {
        if (options.redirect === "if_required") {
          var out = {};
          out[resultKey] = intent;
          return out;
        }
        var target = new URL(params.return_url, window.location.href);
        target.searchParams.set(queryKey, intent.id);
        target.searchParams.set(queryKey + "_client_secret", clientSecret);
        target.searchParams.set("redirect_status", "succeeded");
        window.location.assign(target.toString());
        return new Promise(function () {}); // the page is going away, as with Stripe.js
      }
      var error = intent.last_payment_error || intent.last_setup_error || {
        type: "invalid_request_error",
        message: "The payment could not be completed.",
      };
      var result = { error: Object.assign({}, error) };
      result.error[queryKey] = intent;
      return result;
    }

    return api(self._key, "POST", "/v1/payment_methods", pmParams)
      .then(function (pm) {
        if (pm.status !== 200) return { error: pm.json.error };
        return api(self._key, "POST", "/v1/" + kind + "/" + path.id + "/confirm", {
          client_secret: clientSecret,
          payment_method: pm.json.id,
          return_url: params.return_url,
        }).then(function (confirmed) {
          if (confirmed.status !== 200) return { error: confirmed.json.error };
          var intent = confirmed.json;
          if (intent.status !== "requires_action") return finish(intent);
          return self._authenticate(intent, clientSecret).then(function (result) {
            return result.error ? result : finish(result.intent);
          });
        });
      })
      .catch(function (err) {
        return { error: { type: "api_connection_error", message: "Could not reach Stripe: " + err } };
      });
  };

  // The customer's 3-D Secure step for an intent in requires_action; resolves the intent
  // afterwards, or an authentication failure error.
  StripeEmulator.prototype._authenticate = function (intent, clientSecret) {
    var kind = intent.object === "setup_intent" ? "setup_intents" : "payment_intents";
    var queryKey = kind === "setup_intents" ? "setup_intent" : "payment_intent";
    return challenge().then(function (passed) {
      return fetch(BASE + "/_emulator/3ds/" + intent.id, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: encode({ client_secret: clientSecret, succeed: passed ? "true" : "false" }),
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (after) {
          if (after.error) return { error: after.error };
          if (!passed) {
            var code =
              kind === "setup_intents" ? "setup_intent_authentication_failure" : "payment_intent_authentication_failure";
            var failure = { error: { type: "invalid_request_error", code: code, message: AUTH_FAILURE } };
            failure.error[queryKey] = after;
            return failure;
          }
          return { intent: after };
        });
    });
  };

  StripeEmulator.prototype.handleNextAction = function (options) {
    var self = this;
    var clientSecret = (options || {}).clientSecret;
    return this._retrieve(clientSecret).then(function (r) {
      if (r.status !== 200 || r.json.error) return { error: (r.json && r.json.error) || r.error };
      var intent = r.json;
      var resultKey = intent.object === "setup_intent" ? "setupIntent" : "paymentIntent";
      var wrap = function (value) {
        var out = {};
        out[resultKey] = value;
        return out;
      };
      if (intent.status !== "requires_action") return wrap(intent);
      return self._authenticate(intent, clientSecret).then(function (result) {
        return result.error ? result : wrap(result.intent);
      });
    });
  };
  StripeEmulator.prototype.handleCardAction = function (clientSecret) {
    return this.handleNextAction({ clientSecret: clientSecret });
  };

  StripeEmulator.prototype.createPaymentMethod = function (options) {
    options = options || {};
    var element = options.elements && options.elements._element;
    if (!element) {
      return Promise.resolve({ error: { type: "validation_error", message: "Pass the elements you mounted." } });
    }
    var problem = element._problem();
    if (problem) return Promise.resolve({ error: { type: "validation_error", message: problem } });
    var card = element._values();
    var params = Object.assign({}, options.params || {}, {
      type: "card",
      card: { number: card.number, exp_month: card.exp_month, exp_year: card.exp_year, cvc: card.cvc },
    });
    return api(this._key, "POST", "/v1/payment_methods", params).then(function (r) {
      return r.status === 200 ? { paymentMethod: r.json } : { error: r.json.error };
    });
  };

  StripeEmulator.prototype.confirmPayment = function (options) {
    return this._confirm(options, "payment_intents");
  };

  StripeEmulator.prototype.confirmSetup = function (options) {
    return this._confirm(options, "setup_intents");
  };

  window.Stripe = function (key, options) {
    return new StripeEmulator(key, options);
  };
  window.Stripe.version = 3;
  window.Stripe.emulator = true;
})();
