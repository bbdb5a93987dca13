/*
 * The participation assistant's web chat widget.
 *
 * Embed on any page with a container and one script tag (everything else comes
 * from the same bot service, never from a CDN):
 *
 *   <div id="kasko-chat"></div>
 *   <script src="https://<bot service>/widget/kasko-chat.js" defer></script>
 *
 * It talks to the service's Direct Line endpoint: a WebSocket stream (streamUrl)
 * for replies, HTTP polling when a socket cannot be kept, and a reconnect from
 * the last watermark after a network drop. The conversation survives a page
 * reload in the same tab: its token is kept in sessionStorage and refreshed
 * before it expires. A message that could not be sent stays on screen with a
 * "try again" button: nothing the user wrote is lost.
 *
 * Accessibility: the launcher is a real button (aria-expanded); the transcript
 * is a polite live region; every message says who said it to screen readers;
 * quick replies are buttons in a labelled group; Esc closes the panel and
 * returns focus to the launcher. The widget lives in a shadow root so the
 * host page's styles cannot break it and its styles do not leak out.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var origin = new URL(script ? script.src : window.location.href).origin;
  var API = origin + "/v3/directline";
  var STORAGE_KEY = "kasko-chat:" + origin;
  var REFRESH_MARGIN_S = 120;
  var POLL_MS = 1500;
  var MAX_SOCKET_FAILURES = 3;

  var TEXTS = {
    fi: {
      launcher: "Kysy osallistumisesta",
      title: "Osallisuusavustaja",
      close: "Sulje chat",
      log: "Keskustelu",
      input: "Kirjoita viesti",
      send: "Lähetä",
      choices: "Vastausvaihtoehdot",
      bot: "Avustaja:",
      you: "Sinä:",
      connecting: "Yhdistetään…",
      reconnecting: "Yhteys katkesi. Yhdistetään uudelleen…",
      connected: "Yhteys toimii.",
      failed: "Viestiä ei voitu lähettää. Se on tallessa alla.",
      retry: "Yritä uudelleen",
      busy: "Palvelu on juuri nyt kiireinen. Yritä hetken päästä uudelleen.",
      sending: "lähetetään…",
      notSent: "ei lähetetty",
    },
    sv: {
      launcher: "Fråga om delaktighet",
      title: "Delaktighetsassistent",
      close: "Stäng chatten",
      log: "Konversation",
      input: "Skriv ett meddelande",
      send: "Skicka",
      choices: "Svarsalternativ",
      bot: "Assistenten:",
      you: "Du:",
      connecting: "Ansluter…",
      reconnecting: "Anslutningen bröts. Ansluter igen…",
      connected: "Anslutningen fungerar.",
      failed: "Meddelandet kunde inte skickas. Det finns kvar nedan.",
      retry: "Försök igen",
      busy: "Tjänsten är upptagen just nu. Försök igen om en stund.",
      sending: "skickas…",
      notSent: "inte skickat",
    },
    en: {
      launcher: "Ask about taking part",
      title: "Participation assistant",
      close: "Close chat",
      log: "Conversation",
      input: "Type a message",
      send: "Send",
      choices: "Reply options",
      bot: "Assistant:",
      you: "You:",
      connecting: "Connecting…",
      reconnecting: "Connection lost. Reconnecting…",
      connected: "Connected.",
      failed: "Your message could not be sent. It is kept below.",
      retry: "Try again",
      busy: "The service is busy right now. Please try again in a moment.",
      sending: "sending…",
      notSent: "not sent",
    },
  };

  function uiLanguage(locale) {
    var code = String(locale || "").toLowerCase();
    if (code.indexOf("sv") === 0) return "sv";
    if (code.indexOf("en") === 0) return "en";
    return "fi";
  }

  function htmlLang(locale) {
    return locale === "fi-x-selko" ? "fi" : locale || "fi";
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Text with its web addresses as links; never parsed as HTML. */
  function richText(text) {
    var paragraph = el("p", { class: "kc-text" });
    var pattern = /https:\/\/[^\s<>"')]+/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      paragraph.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer" }, match[0]);
      paragraph.appendChild(link);
      last = match.index + match[0].length;
    }
    paragraph.appendChild(document.createTextNode(text.slice(last)));
    return paragraph;
  }

  function Widget(container) {
    this.container = container;
    this.language = uiLanguage(container.getAttribute("data-lang") || document.documentElement.lang);
    this.session = null;
    this.seen = {};
    this.socket = null;
    this.socketFailures = 0;
    this.pollTimer = null;
    this.refreshTimer = null;
    this.reconnectDelay = 1000;
    this.started = false;
    this.build();
  }

  Widget.prototype.t = function (key) {
    return TEXTS[this.language][key];
  };

  Widget.prototype.build = function () {
    var root = this.container.attachShadow({ mode: "open" });
    ["vendor/hds-tokens.css", "vendor/hds-button.css", "kasko-chat.css"].forEach(function (file) {
      root.appendChild(el("link", { rel: "stylesheet", href: origin + "/widget/" + file }));
    });
    var frame = el("div", { class: "kc", lang: this.language });
    this.launcher = el("button", {
      type: "button",
      class: "kc-launcher hds-button hds-button--primary",
      "aria-expanded": "false",
      "aria-controls": "kc-panel",
    });
    this.launcherLabel = el("span", { class: "hds-button__label" }, this.t("launcher"));
    this.launcher.appendChild(this.launcherLabel);
    this.panel = el("section", { id: "kc-panel", class: "kc-panel", "aria-labelledby": "kc-title" });
    this.panel.hidden = true;
    var header = el("header", { class: "kc-header" });
    this.title = el("h2", { id: "kc-title", class: "kc-title" }, this.t("title"));
    this.closeButton = el("button", { type: "button", class: "kc-close", "aria-label": this.t("close") });
    this.closeButton.appendChild(el("span", { "aria-hidden": "true" }, "×"));
    header.appendChild(this.title);
    header.appendChild(this.closeButton);
    this.status = el("p", { class: "kc-status", role: "status" });
    this.log = el("div", {
      class: "kc-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": this.t("log"),
      tabindex: "0",
    });
    this.list = el("ol", { class: "kc-list" });
    this.log.appendChild(this.list);
    this.actions = el("div", { class: "kc-actions", role: "group", "aria-label": this.t("choices") });
    this.form = el("form", { class: "kc-form" });
    this.inputLabel = el("label", { for: "kc-input", class: "kc-label" }, this.t("input"));
    this.input = el("textarea", { id: "kc-input", class: "kc-input", rows: "2", maxlength: "2000" });
    this.sendButton = el("button", { type: "submit", class: "kc-send hds-button hds-button--primary" });
    this.sendLabel = el("span", { class: "hds-button__label" }, this.t("send"));
    this.sendButton.appendChild(this.sendLabel);
    this.form.appendChild(this.inputLabel);
    this.form.appendChild(this.input);
    this.form.appendChild(this.sendButton);
    [header, this.status, this.log, this.actions, this.form].forEach(function (part) {
      this.panel.appendChild(part);
    }, this);
    frame.appendChild(this.launcher);
    frame.appendChild(this.panel);
    root.appendChild(frame);
    this.frame = frame;
    this.bind();
  };

  Widget.prototype.bind = function () {
    var self = this;
    this.launcher.addEventListener("click", function () {
      self.panel.hidden ? self.open() : self.close();
    });
    this.closeButton.addEventListener("click", function () {
      self.close();
    });
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        self.close();
      }
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        self.form.requestSubmit ? self.form.requestSubmit() : self.submit();
      }
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submit();
    });
    window.addEventListener("online", function () {
      if (self.started) self.reconnect();
    });
  };

  Widget.prototype.setLanguage = function (locale) {
    var language = uiLanguage(locale);
    if (language === this.language) return;
    this.language = language;
    this.frame.setAttribute("lang", language);
    this.launcherLabel.textContent = this.t("launcher");
    this.title.textContent = this.t("title");
    this.closeButton.setAttribute("aria-label", this.t("close"));
    this.log.setAttribute("aria-label", this.t("log"));
    this.actions.setAttribute("aria-label", this.t("choices"));
    this.inputLabel.textContent = this.t("input");
    this.sendLabel.textContent = this.t("send");
  };

  Widget.prototype.open = function () {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.input.focus();
    if (!this.started) {
      this.started = true;
      this.start();
    }
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  };

  Widget.prototype.say = function (key) {
    this.status.textContent = key ? this.t(key) : "";
  };

  // --- the Direct Line conversation --------------------------------------------------

  Widget.prototype.save = function () {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.session));
    } catch (error) {
      /* storage full or disabled: the conversation still works in this page */
    }
  };

  Widget.prototype.request = function (method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (this.session && this.session.token) headers.Authorization = "Bearer " + this.session.token;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };

  Widget.prototype.adopt = function (body) {
    this.session = this.session || { watermark: "0" };
    this.session.conversationId = body.conversationId;
    this.session.token = body.token;
    this.session.expiresAt = Date.now() + body.expires_in * 1000;
    this.session.streamUrl = body.streamUrl;
    this.save();
    this.scheduleRefresh(body.expires_in);
  };

  Widget.prototype.start = async function () {
    this.say("connecting");
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch (error) {
      saved = null;
    }
    if (saved && saved.expiresAt > Date.now() + 30000) {
      this.session = saved;
      this.session.watermark = "0"; // a reload shows the whole conversation again
      if (await this.resume()) return;
    }
    this.session = null;
    var response = await this.request(
      "POST",
      "/conversations?locale=" + encodeURIComponent(this.language)
    );
    if (!response.ok) return this.retryLater();
    this.adopt(await response.json());
    this.openStream();
  };

  /* GET /conversations/{id}: a new token and streamUrl for the same conversation. */
  Widget.prototype.resume = async function () {
    try {
      var response = await this.request(
        "GET",
        "/conversations/" + encodeURIComponent(this.session.conversationId) +
          "?watermark=" + this.session.watermark
      );
      if (!response.ok) return false;
      this.adopt(await response.json());
      this.openStream();
      return true;
    } catch (error) {
      return false;
    }
  };

  Widget.prototype.retryLater = function () {
    var self = this;
    this.say("reconnecting");
    setTimeout(function () {
      self.session ? self.reconnect() : self.start();
    }, this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 15000);
  };

  Widget.prototype.openStream = function () {
    var self = this;
    if (this.socketFailures >= MAX_SOCKET_FAILURES || !("WebSocket" in window)) {
      return this.startPolling();
    }
    var url = this.session.streamUrl + "&watermark=" + this.session.watermark;
    var socket = new WebSocket(url);
    var opened = false;
    this.socket = socket;
    socket.onopen = function () {
      opened = true;
      self.socketFailures = 0;
      self.reconnectDelay = 1000;
      self.stopPolling();
      self.say("");
    };
    socket.onmessage = function (event) {
      if (!event.data) return; // keep-alive
      self.receive(JSON.parse(event.data));
    };
    socket.onclose = function () {
      if (self.socket !== socket) return; // replaced on purpose
      self.socket = null;
      if (!opened) self.socketFailures += 1;
      self.retryLater();
    };
  };

  Widget.prototype.reconnect = async function () {
    if (this.socket) {
      var old = this.socket;
      this.socket = null;
      old.close();
    }
    if (!(await this.resume())) this.retryLater();
  };

  Widget.prototype.startPolling = function () {
    var self = this;
    if (this.pollTimer) return;
    this.say("");
    var poll = async function () {
      try {
        var response = await self.request(
          "GET",
          "/conversations/" + encodeURIComponent(self.session.conversationId) +
            "/activities?watermark=" + self.session.watermark
        );
        if (response.ok) self.receive(await response.json());
      } catch (error) {
        self.say("reconnecting");
      }
    };
    poll();
    this.pollTimer = setInterval(poll, POLL_MS);
  };

  Widget.prototype.stopPolling = function () {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  };

  Widget.prototype.scheduleRefresh = function (expiresIn) {
    var self = this;
    clearTimeout(this.refreshTimer);
    var delay = Math.max(expiresIn - REFRESH_MARGIN_S, 30) * 1000;
    this.refreshTimer = setTimeout(async function () {
      try {
        var response = await self.request("POST", "/tokens/refresh");
        if (response.ok) return self.adopt(await response.json());
      } catch (error) {
        /* fall through */
      }
      self.scheduleRefresh(60 + REFRESH_MARGIN_S);
    }, delay);
  };

  Widget.prototype.receive = function (body) {
    var self = this;
    (body.activities || []).forEach(function (activity) {
      self.render(activity);
    });
    if (body.watermark !== undefined) {
      this.session.watermark = body.watermark;
      this.save();
    }
  };

  // --- messages ----------------------------------------------------------------------

  Widget.prototype.render = function (activity) {
    if (activity.type !== "message" || this.seen[activity.id]) return;
    this.seen[activity.id] = true;
    var fromBot = activity.from && activity.from.id === "kasko-participation-assistant";
    var clientId = activity.channelData && activity.channelData.clientActivityID;
    if (!fromBot && clientId) {
      var echo = this.log.querySelector('[data-client-id="' + clientId + '"]');
      if (echo) return this.confirm(echo);
    }
    if (fromBot && activity.locale) this.setLanguage(activity.locale);
    var item = this.message(fromBot, activity.text || "", activity.locale);
    var cardButtons = [];
    (activity.attachments || []).forEach(function (attachment) {
      if (attachment.contentType === "application/vnd.microsoft.card.hero") {
        cardButtons = cardButtons.concat((attachment.content && attachment.content.buttons) || []);
      }
    });
    if (cardButtons.length) item.appendChild(this.buttonGroup(cardButtons));
    if (fromBot) {
      var actions = (activity.suggestedActions && activity.suggestedActions.actions) || [];
      this.showActions(actions);
    }
  };

  Widget.prototype.message = function (fromBot, text, locale) {
    var item = el("li", { class: "kc-msg " + (fromBot ? "kc-msg--bot" : "kc-msg--user") });
    if (locale) item.setAttribute("lang", htmlLang(locale));
    item.appendChild(el("span", { class: "kc-visually-hidden" }, fromBot ? this.t("bot") : this.t("you")));
    item.appendChild(richText(text));
    this.list.appendChild(item);
    this.log.scrollTop = this.log.scrollHeight;
    return item;
  };

  Widget.prototype.buttonGroup = function (actions) {
    var self = this;
    var group = el("div", { class: "kc-choices" });
    actions.forEach(function (action) {
      var button = el("button", { type: "button", class: "kc-choice" }, action.title || action.text);
      button.addEventListener("click", function () {
        self.send(action.text || action.title, action.value, action.displayText || action.title);
        self.input.focus();
      });
      group.appendChild(button);
    });
    return group;
  };

  Widget.prototype.showActions = function (actions) {
    this.actions.textContent = "";
    if (actions.length) this.actions.appendChild(this.buttonGroup(actions));
  };

  Widget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text);
  };

  Widget.prototype.send = function (text, value, shown) {
    var clientId = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    var activity = {
      type: "message",
      text: text,
      locale: this.language,
      channelData: { clientActivityID: clientId },
    };
    if (value) activity.value = value;
    var echo = this.message(false, shown || text);
    echo.setAttribute("data-client-id", clientId);
    echo.classList.add("kc-msg--pending");
    var note = el("span", { class: "kc-note" }, this.t("sending"));
    echo.appendChild(note);
    this.showActions([]);
    this.post(activity, echo);
  };

  Widget.prototype.post = async function (activity, echo) {
    var response = null;
    try {
      if (!this.session) throw new Error("not connected");
      response = await this.request(
        "POST",
        "/conversations/" + encodeURIComponent(this.session.conversationId) + "/activities",
        activity
      );
    } catch (error) {
      response = null;
    }
    if (response && response.ok) {
      this.confirm(echo);
      if (this.pollTimer || !this.socket) this.startPolling();
      return;
    }
    this.failed(activity, echo, response && (response.status === 429 || response.status === 503));
  };

  Widget.prototype.confirm = function (echo) {
    echo.classList.remove("kc-msg--pending", "kc-msg--failed");
    var note = echo.querySelector(".kc-note");
    if (note) note.remove();
    var retry = echo.querySelector(".kc-retry");
    if (retry) retry.remove();
  };

  /* Not sent: the message stays, marked, with a button that sends exactly it again. */
  Widget.prototype.failed = function (activity, echo, busy) {
    var self = this;
    echo.classList.remove("kc-msg--pending");
    echo.classList.add("kc-msg--failed");
    var note = echo.querySelector(".kc-note");
    if (note) note.textContent = this.t("notSent");
    if (!echo.querySelector(".kc-retry")) {
      var retry = el("button", { type: "button", class: "kc-retry" }, this.t("retry"));
      retry.addEventListener("click", function () {
        retry.remove();
        echo.classList.add("kc-msg--pending");
        if (note) note.textContent = self.t("sending");
        self.post(activity, echo);
      });
      echo.appendChild(retry);
    }
    this.say(busy ? "busy" : "failed");
  };

  function mount() {
    var containers = document.querySelectorAll("#kasko-chat, [data-kasko-chat]");
    Array.prototype.forEach.call(containers, function (container) {
      if (!container.shadowRoot) container.kaskoChat = new Widget(container);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
