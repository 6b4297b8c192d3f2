console.log("release 1.5.0");
