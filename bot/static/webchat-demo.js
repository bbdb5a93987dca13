// Microsoft's Web Chat pointed at this service's Direct Line subset: a token from
// POST /v3/directline/conversations, then Web Chat's own Direct Line client
// (WebSocket stream) on our domain.
(async function () {
  const domain = window.location.origin + "/v3/directline";
  const response = await fetch(domain + "/tokens/generate", { method: "POST" });
  const { token } = await response.json();
  window.WebChat.renderWebChat(
    {
      directLine: window.WebChat.createDirectLine({ token: token, domain: domain, webSocket: true }),
      locale: document.documentElement.lang || "fi-FI",
      userID: "webchat-demo-user",
    },
    document.getElementById("webchat")
  );
})();
