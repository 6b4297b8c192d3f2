console.log("node app started", process.version);
