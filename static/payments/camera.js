// Reads a QR code with the device camera where the browser offers getUserMedia and the BarcodeDetector API, and puts
// its text into the form's code field. Without them the dealer pastes the text or uploads a photo instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-camera-target]");
  if (!box || !navigator.mediaDevices || !("BarcodeDetector" in window)) { return; }
  var target = document.getElementById(box.getAttribute("data-camera-target"));
  var video = box.querySelector("[data-camera-video]");
  var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  box.hidden = false;
  box.querySelector("[data-camera-start]").addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.play();
      var scan = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length > 0) {
            target.value = codes[0].rawValue;
            stream.getTracks().forEach(function (track) { track.stop(); });
          } else {
            window.requestAnimationFrame(scan);
          }
        }).catch(function () { window.requestAnimationFrame(scan); });
      };
      window.requestAnimationFrame(scan);
    }).catch(function () { box.hidden = true; });
  });
})();
